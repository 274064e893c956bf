'use client';
/**
 * The sign-in form: user name and password checked by next-auth's credentials provider, and a
 * "Sign in with NAME" button when an OIDC provider is configured. Refusals arrive as codes
 * (lib/sign-in-refusals.ts) and are shown in the page's language (a wrong pair gets one plain
 * message that does not say which of the two was wrong; throttling says how long to wait).
 */
import { signIn } from 'next-auth/react';
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { parseSignInRefusal } from '@/lib/sign-in-refusals';

type Words = ReturnType<typeof useTranslations<'SignIn'>>;

/** Floe's refusal codes in words; next-auth's own codes are single words; any other sentence is shown as it is. */
function messageFor(error: string, t: Words): string {
  const refusal = parseSignInRefusal(error);
  if (refusal) {
    switch (refusal.kind) {
      case 'wrong':
        return t('wrongPassword');
      case 'wrong-wait':
        return t('refusals.wrongWait', { seconds: refusal.seconds });
      case 'wait':
        return t('refusals.wait', { seconds: refusal.seconds });
      case 'locked-account':
        return t('refusals.lockedAccount', { minutes: refusal.minutes });
      case 'locked-address':
        return t('refusals.lockedAddress', { minutes: refusal.minutes });
      case 'disabled':
        return t('errors.AccountDisabled');
      case 'missing':
        return t('refusals.missing');
      case 'unavailable':
        return t('unavailable');
    }
  }
  if (/\s/.test(error)) return error;
  return error === 'CredentialsSignin' ? t('wrongPassword') : t('unavailable');
}

export function SignInForm({ callbackUrl, oidcName, initialError }: { callbackUrl: string; oidcName?: string | null; initialError?: string | null }) {
  const router = useRouter();
  const t = useTranslations('SignIn');
  const [error, setError] = useState<string | null>(initialError ?? null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    const result = await signIn('credentials', {
      username: String(form.get('username') ?? ''),
      password: String(form.get('password') ?? ''),
      redirect: false,
    }).catch(() => undefined);
    if (result?.ok && !result.error) {
      router.replace(callbackUrl);
      router.refresh();
      return;
    }
    setBusy(false);
    setError(result?.error ? messageFor(result.error, t) : t('unavailable'));
  }

  return (
    <>
      {/* method="post": should the page's script not run, a plain submit must not put the password in the address. */}
      <form className="sign-in" method="post" onSubmit={submit} aria-label={t('submit')}>
        <label>
          {t('userName')}
          <input name="username" autoComplete="username" required autoFocus maxLength={256} />
        </label>
        <label>
          {t('password')}
          <input name="password" type="password" autoComplete="current-password" required maxLength={1024} />
        </label>
        <button className="button" type="submit" disabled={busy}>
          {busy ? t('busy') : t('submit')}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
      {oidcName && (
        <div style={{ marginTop: '1rem', display: 'grid', gap: '0.5rem', maxWidth: '22rem' }}>
          <p className="meta" style={{ margin: 0 }}>{t('or')}</p>
          <button type="button" className="button secondary" disabled={busy} onClick={() => void signIn('oidc', { callbackUrl })}>
            {t('withProvider', { name: oidcName })}
          </button>
        </div>
      )}
    </>
  );
}
