/** The sign-in page. Already signed-in people go straight to their desktops. */
import { redirect } from 'next/navigation';
import { SignInForm } from '@/components/SignInForm';
import { TopBar } from '@/components/TopBar';
import { currentUser } from '@/lib/auth';

export const dynamic = 'force-dynamic';

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string }> }) {
  const { callbackUrl } = await searchParams;
  // Only same-site paths: never send a person to another site after sign-in.
  const next = callbackUrl && callbackUrl.startsWith('/') && !callbackUrl.startsWith('//') ? callbackUrl : '/desktops';
  if (await currentUser()) redirect(next);
  return (
    <>
      <TopBar user={null} />
      <main className="page">
        <div className="card" style={{ maxWidth: '26rem' }}>
          <h1>Sign in to Floe</h1>
          <SignInForm callbackUrl={next} />
        </div>
      </main>
    </>
  );
}
