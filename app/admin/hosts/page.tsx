/**
 * Hosts, for admins: the libvirt hosts desktops run on, each with its state (up, down: not
 * answering, or not asked yet), memory, KSM figures and desktops. A desktop on a host that
 * does not answer is listed as unreachable: it is neither failed nor stopped, and Floe looks
 * again every second. With the embedded QEMU driver the page says so and shows no hosts
 * (the pool page shows that one machine). Hosts are added with the hosts file or the admin API.
 */
import { AdminNav } from '@/components/admin/AdminNav';
import { When, formatBytes } from '@/components/admin/Figures';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { hostsView } from '@/lib/hosts';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Hosts · Floe' };

const STATE_WORDS = { up: 'Up', down: 'Down (not answering)', unknown: 'Not asked yet' } as const;

export default async function HostsPage() {
  const admin = await requireRole('admin');
  const { driver, hosts } = await hostsView();
  const now = Date.now();
  return (
    <>
      <TopBar user={admin} />
      <AdminNav user={admin} current="hosts" />
      <main className="page wide">
        <h1>Hosts</h1>
        {driver === 'qemu' ? (
          <p>
            Desktops run on this machine with Floe&apos;s embedded QEMU driver. To run them on libvirt hosts, start Floe with
            FLOE_HYPERVISOR=libvirt and a hosts file (FLOE_HOSTS_FILE).
          </p>
        ) : (
          <section className="panel" aria-labelledby="hosts-title">
            <h2 id="hosts-title">
              libvirt hosts <span className="meta">({hosts.length})</span>
            </h2>
            <div className="table-scroll">
              <table className="data-table">
                <thead>
                  <tr>
                    <th scope="col">Host</th>
                    <th scope="col">State</th>
                    <th scope="col">Memory free / total</th>
                    <th scope="col">Desktops</th>
                    <th scope="col">KSM pages shared / sharing</th>
                    <th scope="col">Templates</th>
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
                        {STATE_WORDS[host.state]}
                        {host.problem ? <span className="sub">{host.problem}</span> : null}
                        {host.lastSeenAt ? (
                          <span className="sub">
                            last answer <When at={host.lastSeenAt} now={now} />
                          </span>
                        ) : null}
                      </td>
                      <td>
                        {formatBytes(host.memoryFreeBytes)} / {formatBytes(host.memoryTotalBytes)}
                      </td>
                      <td>
                        {host.desktops}
                        {host.maxDesktops ? ` of at most ${host.maxDesktops}` : ''}
                        {host.desktopList.length > 0 ? (
                          <ul className="plain-list">
                            {host.desktopList.map((d) => (
                              <li key={d.id}>
                                {d.id} <span className="sub">{d.reachable ? 'reachable' : 'unreachable (host not answering)'}</span>
                              </li>
                            ))}
                          </ul>
                        ) : null}
                      </td>
                      <td>{host.ksm ? `${host.ksm.pagesShared.toLocaleString('en')} / ${host.ksm.pagesSharing.toLocaleString('en')}` : 'Not reported'}</td>
                      <td>{host.volumes.length ? host.volumes.join(', ') : 'None'}</td>
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
