/**
 * The page for an address Floe has no page for, or a desktop, person or console that does not
 * exist (notFound() in a page): says so in the person's language and offers the way back to
 * their desktops.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('NotFound'))('metaTitle') };
}

export default async function NotFound() {
  const t = await getTranslations('NotFound');
  return (
    <main className="page">
      <h1>{t('title')}</h1>
      <p>{t('text')}</p>
      <p>
        <Link className="button" href="/desktops">
          {t('back')}
        </Link>
      </p>
    </main>
  );
}
