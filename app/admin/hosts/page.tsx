/**
 * Hosts, for admins: the libvirt hosts desktops run on, each with its state (up, down: not
 * answering, or not asked yet), memory, KSM figures and desktops. A desktop on a host that
 * does not answer is listed as unreachable: it is neither failed nor stopped, and Floe looks
 * again every second. With the embedded QEMU driver the page says so and shows no hosts
 * (the pool page shows that one machine). Hosts are added with the hosts file or the admin API.
 */
import { AdminNav } from '@/components/admin/AdminNav';
import { getTranslations } from 'next-intl/server';
import { Bytes, When } from '@/components/admin/Figures';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { hostsView } from '@/lib/hosts';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('Hosts'))('metaTitle') };
}

export default async function HostsPage() {
  const admin = await requireRole('admin');
  const t = await getTranslations('Hosts');
  const { driver, hosts } = await hostsView();
  const now = Date.now();
  return (
    <>
      <TopBar user={admin} />
      <AdminNav user={admin} current="hosts" />
      <main className="page wide">
        <h1>{t('title')}</h1>
        {driver === 'qemu' ? (
          <p>{t('embedded')}</p>
        ) : (
          <section className="panel" aria-labelledby="hosts-title">
            <h2 id="hosts-title">
              {t('libvirtHosts')} <span className="meta">({hosts.length})</span>
            </h2>
            <div className="table-scroll">
              <table className="data-table">
                <thead>
                  <tr>
                    <th scope="col">{t('host')}</th>
                    <th scope="col">{t('state')}</th>
                    <th scope="col">{t('memory')}</th>
                    <th scope="col">{t('desktops')}</th>
                    <th scope="col">{t('ksm')}</th>
                    <th scope="col">{t('templates')}</th>
                  </tr>
                </thead>
                <tbody>
                  {hosts.map((host) => (
                    <tr key={host.name}>
                      <th scope="row">
                        {host.name}
                        <span className="sub">{host.uri}</span>
                      </th>
                      <td>
                        {t(`states.${host.state}`)}
                        {host.problem ? <span className="sub">{host.problem}</span> : null}
                        {host.lastSeenAt ? (
                          <span className="sub">
                            {t('lastAnswer')} <When at={host.lastSeenAt} now={now} />
                          </span>
                        ) : null}
                      </td>
                      <td>
                        <Bytes bytes={host.memoryFreeBytes} /> / <Bytes bytes={host.memoryTotalBytes} />
                      </td>
                      <td>
                        {host.desktops}
                        {host.maxDesktops ? ` ${t('atMost', { count: host.maxDesktops })}` : ''}
                        {host.desktopList.length > 0 ? (
                          <ul className="plain-list">
                            {host.desktopList.map((d) => (
                              <li key={d.id}>
                                {d.id} <span className="sub">{d.reachable ? t('reachable') : t('unreachable')}</span>
                              </li>
                            ))}
                          </ul>
                        ) : null}
                      </td>
                      <td>{host.ksm ? t('ksmPages', { shared: host.ksm.pagesShared, sharing: host.ksm.pagesSharing }) : t('notReported')}</td>
                      <td>{host.volumes.length ? host.volumes.join(', ') : t('none')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        )}
      </main>
    </>
  );
}
