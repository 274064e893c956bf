/**
 * People, for admins: every account with its role, status (enabled, disabled, locked after
 * failed sign-ins) and how it signs in (password or OIDC), searchable by name or display name,
 * 20 a page; "Add a person" makes an account with a password shown once. Each name leads to
 * the person's page (/admin/users/NAME) with the changes the CLI can make.
 */
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { AddUserForm } from '@/components/admin/AddUserForm';
import { AdminNav } from '@/components/admin/AdminNav';
import { When } from '@/components/admin/Figures';
import { Pager } from '@/components/admin/Pager';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { usersPage } from '@/lib/users';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('AdminUsers'))('metaTitle') };
}

function queryOf(search: string, page: number): string {
  const params = new URLSearchParams();
  if (search) params.set('q', search);
  if (page > 1) params.set('page', String(page));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export default async function UsersPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const admin = await requireRole('admin');
  const params = await searchParams;
  const search = typeof params.q === 'string' ? params.q.slice(0, 100) : '';
  const wanted = Number(typeof params.page === 'string' ? params.page : 1);
  const { users, total, page, pages } = await usersPage(search, Number.isInteger(wanted) && wanted > 0 ? wanted : 1);
  const now = Date.now();
  const t = await getTranslations('AdminUsers');
  const staff = await getTranslations('Staff');
  return (
    <>
      <TopBar user={admin} />
      <AdminNav user={admin} current="users" />
      <main className="page wide">
        <h1>{t('title')}</h1>
        <AddUserForm />
        <form className="search-form" action="/admin/users" method="get" role="search" aria-label={t('find')}>
          <label htmlFor="user-search">{t('nameOrDisplayName')}</label>
          <input id="user-search" name="q" type="search" defaultValue={search} />
          <button type="submit" className="button">
            {t('search')}
          </button>
        </form>
        <section className="panel" aria-labelledby="people-title">
          <h2 id="people-title">
            {search ? t('matching', { q: search }) : t('people')} <span className="meta">({total})</span>
          </h2>
          {users.length === 0 ? (
            <p>{search ? t('nobody') : t('none')}</p>
          ) : (
            <div className="table-scroll">
              <table className="data-table">
                <thead>
                  <tr>
                    <th scope="col">{t('name')}</th>
                    <th scope="col">{t('role')}</th>
                    <th scope="col">{t('status')}</th>
                    <th scope="col">{t('signsInWith')}</th>
                    <th scope="col">{t('added')}</th>
                  </tr>
                </thead>
                <tbody>
                  {users.map((u) => (
                    <tr key={u.id}>
                      <th scope="row">
                        <Link href={`/admin/users/${encodeURIComponent(u.name)}`}>{u.name}</Link>
                        <span className="sub">{u.displayName}</span>
                      </th>
                      <td>{staff(`role.${u.role}`)}</td>
                      <td>{u.disabled ? t('disabled') : u.lockedUntil ? t('locked') : t('enabled')}</td>
                      <td>{u.issuer ? <>{t('oidc')} <span className="sub">{u.issuer}</span></> : t('password')}</td>
                      <td>
                        <When at={u.createdAt} now={now} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager label={t('pages')} page={page} pages={pages} hrefOf={(p) => `/admin/users${queryOf(search, p)}`} previous={t('previous')} next={t('next')} />
        </section>
      </main>
    </>
  );
}
