/**
 * People, for admins: every account with its role, status (enabled, disabled, locked after
 * failed sign-ins) and how it signs in (password or OIDC), searchable by name or display name,
 * 20 a page; "Add a person" makes an account with a password shown once. Each name leads to
 * the person's page (/admin/users/NAME) with the changes the CLI can make.
 */
import Link from 'next/link';
import { AddUserForm } from '@/components/admin/AddUserForm';
import { AdminNav } from '@/components/admin/AdminNav';
import { When } from '@/components/admin/Figures';
import { Pager } from '@/components/admin/Pager';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { usersPage } from '@/lib/users';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Users · Floe' };

const ROLE_WORDS = { user: 'User', helpdesk: 'Helpdesk', admin: 'Administrator' } as const;

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
  return (
    <>
      <TopBar user={admin} />
      <AdminNav user={admin} current="users" />
      <main className="page wide">
        <h1>Users</h1>
        <AddUserForm />
        <form className="search-form" action="/admin/users" method="get" role="search" aria-label="Find people">
          <label htmlFor="user-search">Name or display name</label>
          <input id="user-search" name="q" type="search" defaultValue={search} />
          <button type="submit" className="button">
            Search
          </button>
        </form>
        <section className="panel" aria-labelledby="people-title">
          <h2 id="people-title">
            {search ? `People matching "${search}"` : 'People'} <span className="meta">({total})</span>
          </h2>
          {users.length === 0 ? (
            <p>{search ? 'Nobody matches.' : 'No users yet.'}</p>
          ) : (
            <div className="table-scroll">
              <table className="data-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Signs in with</th>
                    <th scope="col">Added</th>
                  </tr>
                </thead>
                <tbody>
                  {users.map((u) => (
                    <tr key={u.id}>
                      <th scope="row">
                        <Link href={`/admin/users/${encodeURIComponent(u.name)}`}>{u.name}</Link>
                        <span className="sub">{u.displayName}</span>
                      </th>
                      <td>{ROLE_WORDS[u.role]}</td>
                      <td>{u.disabled ? 'Disabled' : u.lockedUntil ? 'Locked' : 'Enabled'}</td>
                      <td>{u.issuer ? <>OIDC <span className="sub">{u.issuer}</span></> : 'Password'}</td>
                      <td>
                        <When at={u.createdAt} now={now} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager label="User pages" page={page} pages={pages} hrefOf={(p) => `/admin/users${queryOf(search, p)}`} previous="← Previous" next="Next →" />
        </section>
      </main>
    </>
  );
}
