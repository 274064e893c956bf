'use client';
/** Signs the person out (ends the session cookie) and returns to the sign-in page. */
import { signOut } from 'next-auth/react';

export function SignOutButton() {
  return (
    <button type="button" className="button secondary" onClick={() => void signOut({ callbackUrl: '/login' })}>
      Sign out
    </button>
  );
}
