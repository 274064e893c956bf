'use client';
/**
 * What a page shows when rendering it failed on the server or in the browser: a plain
 * sentence in the person's language (no stack trace), a button that tries again, and the way
 * back to their desktops. The failure itself is in Floe's log.
 */
import Link from 'next/link';
import { useTranslations } from 'next-intl';

export default function PageError({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const t = useTranslations('PageError');
  return (
    <main className="page">
      <h1>{t('title')}</h1>
      <p role="alert">{t('text')}</p>
      <p className="row-actions">
        <button type="button" className="button" onClick={() => reset()}>
          {t('retry')}
        </button>
        <Link className="button secondary" href="/desktops">
          {t('back')}
        </Link>
      </p>
    </main>
  );
}
