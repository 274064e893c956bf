/**
 * One person, for the helpdesk: their desktops (pool, state, how long up, host, accelerator)
 * with the helpdesk's actions, the consoles open on them now (since when, from which address
 * and browser, bytes each way) with Disconnect, and their last 20 console sessions. Renders
 * again every 3 s, so a console opening or closing shows without a reload.
 */
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { AdminNav } from '@/components/admin/AdminNav';
import { StateBadge, When, formatBytes, formatDuration, formatTime } from '@/components/admin/Figures';
import { DesktopHelpActions } from '@/components/helpdesk/DesktopHelpActions';
import { DisconnectButton } from '@/components/helpdesk/DisconnectButton';
import { LiveRefresh } from '@/components/helpdesk/LiveRefresh';
import { StaffNotices } from '@/components/helpdesk/StaffNotice';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { personPage } from '@/lib/helpdesk';
import { describeConsoleEnd } from '@/lib/console-ends';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Person · Helpdesk · Floe' };

const ROLE_WORDS: Record<string, string> = { user: 'user', helpdesk: 'helpdesk', admin: 'administrator' };

export default async function PersonPage({ params }: { params: Promise<{ name: string }> }) {
  const user = await requireRole('helpdesk');
  const { name } = await params;
  const page = await personPage(safeDecode(name));
  if (!page) notFound();
  const { person, desktops, live, history } = page;
  const now = Date.now();
  const desktopTitle = (id: string) => desktops.find((d) => d.id === id)?.poolTitle;
  return (
    <>
      <TopBar user={user} />
      <AdminNav user={user} current="helpdesk" />
      <main className="page wide">
        <p className="crumbs">
          <Link href="/helpdesk">Helpdesk</Link> › {person.displayName}
        </p>
        <h1>{person.displayName}</h1>
        <p className="meta">
          {person.name} · {ROLE_WORDS[person.role] ?? person.role}
          {person.disabled && <span className="badge failed spaced">Account disabled</span>}
        </p>
        <LiveRefresh renderedAt={formatTime(now, now)} />
        <StaffNotices />

        <section aria-labelledby="desktops-title" className="panel">
          <h2 id="desktops-title">Desktops</h2>
          {desktops.length === 0 ? (
            <p>{person.displayName} has no desktop at the moment.</p>
          ) : (
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">Pool</th>
                  <th scope="col">State</th>
                  <th scope="col">Up for</th>
                  <th scope="col">Host</th>
                  <th scope="col">Accelerator</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {desktops.map((d) => (
                  <tr key={d.id} aria-label={`Desktop ${d.poolTitle}`}>
                    <th scope="row">
                      {d.poolTitle}
                      <span className="sub">{d.id}</span>
                    </th>
                    <td>
                      <StateBadge state={d.state} />
                      {d.failureReason && <span className="sub error-text">{d.failureReason}</span>}
                    </td>
                    <td>{d.upSince ? formatDuration(now - d.upSince) : '–'}</td>
                    <td>{d.host}</td>
                    <td>{d.accelerator?.toUpperCase() ?? '–'}</td>
                    <td>
                      <DesktopHelpActions
                        desktopId={d.id}
                        owner={person.displayName}
                        poolTitle={d.poolTitle}
                        kind={d.kind}
                        state={d.state}
                        running={d.running}
                        busy={d.busy}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section aria-labelledby="live-title" className="panel">
          <h2 id="live-title">Consoles open now</h2>
          {live.length === 0 ? (
            <p>No console is open on {person.displayName}&apos;s desktops.</p>
          ) : (
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">Who</th>
                  <th scope="col">Desktop</th>
                  <th scope="col">Since</th>
                  <th scope="col">From</th>
                  <th scope="col">Browser</th>
                  <th scope="col">To browser</th>
                  <th scope="col">To desktop</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {live.map((s) => (
                  <tr key={s.id} aria-label={`Console of ${s.who}`}>
                    <th scope="row">{s.who}</th>
                    <td>{desktopTitle(s.desktopId) ?? s.pool}</td>
                    <td>
                      <When at={s.startedAt} now={now} /> <span className="sub">({formatDuration(now - s.startedAt)})</span>
                    </td>
                    <td>{s.clientAddress ?? 'unknown'}</td>
                    <td title={s.userAgent ?? undefined}>{s.browser}</td>
                    <td>{formatBytes(s.bytesToBrowser)}</td>
                    <td>{formatBytes(s.bytesToDesktop)}</td>
                    <td>
                      <DisconnectButton sessionId={s.id} who={s.who} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section aria-labelledby="history-title" className="panel">
          <h2 id="history-title">Recent consoles</h2>
          {history.length === 0 ? (
            <p>No console session has ended yet.</p>
          ) : (
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">Who</th>
                  <th scope="col">Desktop</th>
                  <th scope="col">Started</th>
                  <th scope="col">Lasted</th>
                  <th scope="col">From</th>
                  <th scope="col">Browser</th>
                  <th scope="col">Bytes (to browser / to desktop)</th>
                  <th scope="col">How it ended</th>
                </tr>
              </thead>
              <tbody>
                {history.map((s) => (
                  <tr key={s.id}>
                    <th scope="row">{s.who}</th>
                    <td>{desktopTitle(s.desktopId) ?? s.pool}</td>
                    <td>
                      <When at={s.startedAt} now={now} />
                    </td>
                    <td>{s.endedAt ? formatDuration(s.endedAt - s.startedAt) : '–'}</td>
                    <td>{s.clientAddress ?? 'unknown'}</td>
                    <td title={s.userAgent ?? undefined}>{s.browser}</td>
                    <td>
                      {formatBytes(s.bytesToBrowser)} / {formatBytes(s.bytesToDesktop)}
                    </td>
                    <td>{describeConsoleEnd(s.endReason, s.takenOverBy)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </main>
    </>
  );
}

/** A path segment decoded, or as it is when it is not valid percent-encoding. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
