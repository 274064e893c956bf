/**
 * The sign-in page. Already signed-in people go straight on (to their desktops, or back to the
 * page that sent them here). Errors from a sign-in through the OIDC provider arrive as
 * ?error=CODE and are shown in words; unknown codes get a general sentence (the page never
 * shows text from the address bar).
 */
import { redirect } from 'next/navigation';
import { SignInForm } from '@/components/SignInForm';
import { TopBar } from '@/components/TopBar';
import { currentUser, oidcProviderName, safeCallbackPath } from '@/lib/auth';

export const dynamic = 'force-dynamic';

const ERRORS: Record<string, string> = {
  OidcNotAllowed: 'Your account may not use Floe. Please ask the helpdesk to give you access.',
  AccountDisabled: 'This account is disabled. Please ask the helpdesk.',
  OidcNoSubject: 'The sign-in service did not say who you are. Please try again or ask the helpdesk.',
  AccessDenied: 'You may not sign in to Floe. Please ask the helpdesk.',
  SessionRequired: 'Please sign in.',
};
const GENERAL_ERROR = 'Signing in did not work. Please try again.';


export default async function LoginPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string | string[]; error?: string | string[] }> }) {
  const params = await searchParams;
  const next = safeCallbackPath(typeof params.callbackUrl === 'string' ? params.callbackUrl : undefined);
  if (await currentUser()) redirect(next);
  const code = typeof params.error === 'string' ? params.error : undefined;
  // Credentials refusals are shown by the form itself; a code here comes from a redirect.
  const error = code ? (ERRORS[code] ?? GENERAL_ERROR) : null;
  return (
    <>
      <TopBar user={null} />
      <main className="page">
        <div className="card" style={{ maxWidth: '26rem' }}>
          <h1>Sign in to Floe</h1>
          <SignInForm callbackUrl={next} oidcName={oidcProviderName()} initialError={error} />
        </div>
      </main>
    </>
  );
}
