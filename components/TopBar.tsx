/** The bar above Floe's pages: the name, who is signed in (and their role, when not a plain user), and a sign-out button. */
import Link from 'next/link';
import type { SessionUser } from '@/lib/auth';
import { SignOutButton } from './SignOutButton';

const ROLE_WORDS = { user: null, helpdesk: 'Helpdesk', admin: 'Administrator' } as const;

export function TopBar({ user }: { user: SessionUser | null }) {
  const role = user ? ROLE_WORDS[user.role] : null;
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
            {role && <span className="badge" style={{ marginLeft: '0.5rem' }}>{role}</span>}
          </span>
          <SignOutButton />
        </>
      )}
    </header>
  );
}
