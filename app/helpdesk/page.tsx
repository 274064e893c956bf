/**
 * Helpdesk home: find a person by user name or display name (any part, any case) and go to
 * their page. The search is a plain GET form (?q=…), so results can be bookmarked and work
 * without scripts. For helpdesk people and admins.
 */
import Link from 'next/link';
import { AdminNav } from '@/components/admin/AdminNav';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { findPeople } from '@/lib/helpdesk';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Helpdesk · Floe' };

const ROLE_WORDS = { user: 'User', helpdesk: 'Helpdesk', admin: 'Administrator' } as const;

export default async function HelpdeskPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireRole('helpdesk');
  const raw = (await searchParams).q;
  const q = (Array.isArray(raw) ? raw[0] : raw)?.trim().slice(0, 100) ?? '';
  const people = q ? await findPeople(q) : [];
  return (
    <>
      <TopBar user={user} />
      <AdminNav user={user} current="helpdesk" />
      <main className="page wide">
        <h1>Helpdesk</h1>
        <form className="search-form" role="search" action="/helpdesk" method="get">
          <label htmlFor="q">Find a person</label>
          <input id="q" name="q" type="search" defaultValue={q} placeholder="Name or display name, e.g. alice or Martin" maxLength={100} autoFocus />
          <button type="submit" className="button">
            Search
          </button>
        </form>
        {q && (
          <section aria-labelledby="results-title">
            <h2 id="results-title">People matching “{q}”</h2>
            <p role="status">{people.length === 0 ? 'Nobody matches. Try part of the name.' : `${people.length}${people.length === 25 ? ' or more' : ''} found.`}</p>
            {people.length > 0 && (
              <table className="data-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">User name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Desktops</th>
                    <th scope="col">Consoles open</th>
                  </tr>
                </thead>
                <tbody>
                  {people.map((p) => (
                    <tr key={p.id}>
                      <th scope="row">
                        <Link href={`/helpdesk/people/${encodeURIComponent(p.name)}`}>{p.displayName}</Link>
                        {p.disabled && <span className="badge failed spaced">Disabled</span>}
                      </th>
                      <td>{p.name}</td>
                      <td>{ROLE_WORDS[p.role]}</td>
                      <td>{p.desktops}</td>
                      <td>{p.liveConsoles}</td>
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
