'use client';
/**
 * Signs the person out and returns to the sign-in page. next-auth clears the cookie and Floe
 * ends the sign-in session in the database, so a copy of the cookie stops working too.
 */
import { signOut } from 'next-auth/react';
import { useTranslations } from 'next-intl';
import { useState } from 'react';

export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  const t = useTranslations('TopBar');
  return (
    <button
      type="button"
      className="button secondary"
      disabled={busy}
      onClick={() => {
        setBusy(true);
        void signOut({ callbackUrl: '/login' }).catch(() => setBusy(false));
      }}
    >
      {busy ? t('signingOut') : t('signOut')}
    </button>
  );
}
