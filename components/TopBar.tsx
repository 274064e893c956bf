/** The bar above Floe's pages: the name, who is signed in, and a sign-out button. */
import Link from 'next/link';
import type { SessionUser } from '@/lib/auth';
import { SignOutButton } from './SignOutButton';

export function TopBar({ user }: { user: SessionUser | null }) {
  return (
    <header className="topbar">
      <Link className="brand" href="/">
        Floe
      </Link>
      <span className="spacer" />
      {user && (
        <>
          <span className="who">
            Signed in as <strong>{user.displayName}</strong>
          </span>
          <SignOutButton />
        </>
      )}
    </header>
  );
}
