'use client';
/**
 * The sign-in form: user name and password checked by next-auth's credentials provider, and a
 * "Sign in with NAME" button when an OIDC provider is configured. Refusals are shown in the
 * server's own words (a wrong pair gets one plain message that does not say which of the two
 * was wrong; throttling says how long to wait).
 */
import { signIn } from 'next-auth/react';
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { type FormEvent, useState } from 'react';

/** next-auth's error codes are single words; Floe's own messages are sentences and are shown as they are. */
function messageFor(error: string, t: (key: 'wrongPassword' | 'unavailable') => string): string {
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
