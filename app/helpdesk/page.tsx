/**
 * Helpdesk home: find a person by user name or display name (any part, any case) and go to
 * their page. The search is a plain GET form (?q=…), so results can be bookmarked and work
 * without scripts. For helpdesk people and admins.
 */
import Link from 'next/link';
import { getFormatter, getTranslations } from 'next-intl/server';
import { AdminNav } from '@/components/admin/AdminNav';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { findPeople } from '@/lib/helpdesk';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('Helpdesk'))('metaTitle') };
}

export default async function HelpdeskPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireRole('helpdesk');
  const raw = (await searchParams).q;
  const q = (Array.isArray(raw) ? raw[0] : raw)?.trim().slice(0, 100) ?? '';
  const people = q ? await findPeople(q) : [];
  const t = await getTranslations('Helpdesk');
  const staff = await getTranslations('Staff');
  const format = await getFormatter();
  return (
    <>
      <TopBar user={user} />
      <AdminNav user={user} current="helpdesk" />
      <main className="page wide">
        <h1>{t('title')}</h1>
        <form className="search-form" role="search" action="/helpdesk" method="get">
          <label htmlFor="q">{t('find')}</label>
          <input id="q" name="q" type="search" defaultValue={q} placeholder={t('placeholder')} maxLength={100} autoFocus />
          <button type="submit" className="button">
            {t('search')}
          </button>
        </form>
        {q && (
          <section aria-labelledby="results-title">
            <h2 id="results-title">{t('matching', { q })}</h2>
            <p role="status">{people.length === 0 ? t('nobody') : t(people.length === 25 ? 'foundMore' : 'found', { count: people.length })}</p>
            {people.length > 0 && (
              <table className="data-table">
                <thead>
                  <tr>
                    <th scope="col">{t('name')}</th>
                    <th scope="col">{t('userName')}</th>
                    <th scope="col">{t('role')}</th>
                    <th scope="col">{t('desktops')}</th>
                    <th scope="col">{t('consolesOpen')}</th>
                  </tr>
                </thead>
                <tbody>
                  {people.map((p) => (
                    <tr key={p.id}>
                      <th scope="row">
                        <Link href={`/helpdesk/people/${encodeURIComponent(p.name)}`}>{p.displayName}</Link>
                        {p.disabled && <span className="badge failed spaced">{staff('disabled')}</span>}
                      </th>
                      <td>{p.name}</td>
                      <td>{staff(`role.${p.role}`)}</td>
                      <td>{format.number(p.desktops)}</td>
                      <td>{format.number(p.liveConsoles)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        )}
      </main>
    </>
  );
}
