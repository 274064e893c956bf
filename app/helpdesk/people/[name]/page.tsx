/**
 * One person, for the helpdesk: their desktops (pool, state, how long up, host, accelerator)
 * with the helpdesk's actions, the consoles open on them now (since when, from which address
 * and browser, bytes each way) with Disconnect, and their last 20 console sessions. Renders
 * again every 3 s, so a console opening or closing shows without a reload.
 */
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { AdminNav } from '@/components/admin/AdminNav';
import { Bytes, Duration, StateBadge, UnreachableBadge, When } from '@/components/admin/Figures';
import { DesktopHelpActions } from '@/components/helpdesk/DesktopHelpActions';
import { DisconnectButton } from '@/components/helpdesk/DisconnectButton';
import { LiveRefresh } from '@/components/helpdesk/LiveRefresh';
import { StaffNotices } from '@/components/helpdesk/StaffNotice';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { personPage } from '@/lib/helpdesk';
import { isConsoleEndReason } from '@/lib/console-ends';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('HelpdeskPerson'))('metaTitle') };
}

/** How a console session ended, in words ("closed by Helpdesk (Helen Okafor)"); records older than the codes hold free text, shown as it is. */
async function endWords(): Promise<(reason: string | null, by: string | null) => string> {
  const t = await getTranslations('ConsoleEnds');
  return (reason, by) => {
    if (reason === null) return '–';
    if (!isConsoleEndReason(reason)) return reason;
    if (reason === 'taken-over' && by) return t('takenOverBy', { by });
    if (reason === 'closed-by-staff' && by) return t('closedBy', { by });
    return t(reason);
  };
}

export default async function PersonPage({ params }: { params: Promise<{ name: string }> }) {
  const user = await requireRole('helpdesk');
  const { name } = await params;
  const page = await personPage(safeDecode(name));
  if (!page) notFound();
  const { person, desktops, live, history } = page;
  const now = Date.now();
  const desktopTitle = (id: string) => desktops.find((d) => d.id === id)?.poolTitle;
  const t = await getTranslations('HelpdeskPerson');
  const staff = await getTranslations('Staff');
  const describeConsoleEnd = await endWords();
  return (
    <>
      <TopBar user={user} />
      <AdminNav user={user} current="helpdesk" />
      <main className="page wide">
        <p className="crumbs">
          <Link href="/helpdesk">{t('crumb')}</Link> › {person.displayName}
        </p>
        <h1>{person.displayName}</h1>
        <p className="meta">
          {person.name} · {person.role === 'user' || person.role === 'helpdesk' || person.role === 'admin' ? staff(`roleLower.${person.role}`) : person.role}
          {person.disabled && <span className="badge failed spaced">{t('accountDisabled')}</span>}
        </p>
        <LiveRefresh renderedAt={<When at={now} now={now} />} />
        <StaffNotices />

        <section aria-labelledby="desktops-title" className="panel">
          <h2 id="desktops-title">{t('desktops')}</h2>
          {desktops.length === 0 ? (
            <p>{t('noDesktop', { name: person.displayName })}</p>
          ) : (
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">{t('pool')}</th>
                  <th scope="col">{t('state')}</th>
                  <th scope="col">{t('upFor')}</th>
                  <th scope="col">{t('host')}</th>
                  <th scope="col">{t('accelerator')}</th>
                  <th scope="col">{t('actions')}</th>
                </tr>
              </thead>
              <tbody>
                {desktops.map((d) => (
                  <tr key={d.id} aria-label={t('desktopRow', { pool: d.poolTitle })}>
                    <th scope="row">
                      {d.poolTitle}
                      <span className="sub">{d.id}</span>
                    </th>
                    <td>
                      <StateBadge state={d.state} />
                      {d.unreachable && <UnreachableBadge />}
                      {d.failureReason && <span className="sub error-text">{d.failureReason}</span>}
                    </td>
                    <td>{d.upSince ? <Duration ms={now - d.upSince} /> : '–'}</td>
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
          <h2 id="live-title">{t('liveTitle')}</h2>
          {live.length === 0 ? (
            <p>{t('noLive', { name: person.displayName })}</p>
          ) : (
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">{t('who')}</th>
                  <th scope="col">{t('desktop')}</th>
                  <th scope="col">{t('since')}</th>
                  <th scope="col">{t('from')}</th>
                  <th scope="col">{t('browser')}</th>
                  <th scope="col">{t('toBrowser')}</th>
                  <th scope="col">{t('toDesktop')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {live.map((s) => (
                  <tr key={s.id} aria-label={t('consoleRow', { who: s.who })}>
                    <th scope="row">{s.who}</th>
                    <td>{desktopTitle(s.desktopId) ?? s.pool}</td>
                    <td>
                      <When at={s.startedAt} now={now} /> <span className="sub">(<Duration ms={now - s.startedAt} />)</span>
                    </td>
                    <td>{s.clientAddress ?? staff('unknown')}</td>
                    <td title={s.userAgent ?? undefined}>{s.browser}</td>
                    <td><Bytes bytes={s.bytesToBrowser} /></td>
                    <td><Bytes bytes={s.bytesToDesktop} /></td>
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
          <h2 id="history-title">{t('historyTitle')}</h2>
          {history.length === 0 ? (
            <p>{t('noHistory')}</p>
          ) : (
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">{t('who')}</th>
                  <th scope="col">{t('desktop')}</th>
                  <th scope="col">{t('started')}</th>
                  <th scope="col">{t('lasted')}</th>
                  <th scope="col">{t('from')}</th>
                  <th scope="col">{t('browser')}</th>
                  <th scope="col">{t('bytes')}</th>
                  <th scope="col">{t('ended')}</th>
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
                    <td>{s.endedAt ? <Duration ms={s.endedAt - s.startedAt} /> : '–'}</td>
                    <td>{s.clientAddress ?? staff('unknown')}</td>
                    <td title={s.userAgent ?? undefined}>{s.browser}</td>
                    <td>
                      <Bytes bytes={s.bytesToBrowser} /> / <Bytes bytes={s.bytesToDesktop} />
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
