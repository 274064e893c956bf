/**
 * The bar above Floe's pages: the name, the language switch, who is signed in (and their role,
 * when not a plain user), and a sign-out button. Its words come from the message catalogues.
 */
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import type { SessionUser } from '@/lib/auth';
import { LanguageSwitch } from './LanguageSwitch';
import { SignOutButton } from './SignOutButton';

export async function TopBar({ user }: { user: SessionUser | null }) {
  const t = await getTranslations('TopBar');
  return (
    <header className="topbar">
      <Link className="brand" href="/">
        Floe
      </Link>
      <span className="spacer" />
      <LanguageSwitch />
      {user && (
        <>
          <span className="who">
            {t.rich('signedInAs', { name: user.displayName, strong: (chunks) => <strong>{chunks}</strong> })}
            {user.role !== 'user' && <span className="badge" style={{ marginLeft: '0.5rem' }}>{t(`role.${user.role}`)}</span>}
          </span>
          <SignOutButton />
        </>
      )}
    </header>
  );
}
