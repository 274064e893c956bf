/**
 * The sign-in page. Already signed-in people go straight on (to their desktops, or back to the
 * page that sent them here). Errors from a sign-in through the OIDC provider arrive as
 * ?error=CODE and are shown in words; unknown codes get a general sentence (the page never
 * shows text from the address bar).
 */
import { redirect } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { SignInForm } from '@/components/SignInForm';
import { TopBar } from '@/components/TopBar';
import { currentUser, oidcProviderName, safeCallbackPath } from '@/lib/auth';

export const dynamic = 'force-dynamic';

const ERROR_CODES = ['OidcNotAllowed', 'AccountDisabled', 'OidcNoSubject', 'AccessDenied', 'SessionRequired'] as const;

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string | string[]; error?: string | string[] }> }) {
  const params = await searchParams;
  const next = safeCallbackPath(typeof params.callbackUrl === 'string' ? params.callbackUrl : undefined);
  if (await currentUser()) redirect(next);
  const code = typeof params.error === 'string' ? params.error : undefined;
  // Credentials refusals are shown by the form itself; a code here comes from a redirect.
  const t = await getTranslations('SignIn');
  const known = ERROR_CODES.find((c) => c === code);
  const error = code ? (known ? t(`errors.${known}`) : t('errors.general')) : null;
  return (
    <>
      <TopBar user={null} />
      <main className="page">
        <div className="card" style={{ maxWidth: '26rem' }}>
          <h1>{t('title')}</h1>
          <SignInForm callbackUrl={next} oidcName={oidcProviderName()} initialError={error} />
        </div>
      </main>
    </>
  );
}
