/**
 * The staff's navigation, shown under the top bar on the helpdesk and admin pages: Helpdesk for
 * helpdesk people and admins; Pools, Hosts, Users and Audit log for admins only (the pages check roles on the
 * server too; this only hides links that would answer 403).
 */
import Link from 'next/link';
import type { SessionUser } from '@/lib/auth';

export type StaffPage = 'helpdesk' | 'pools' | 'hosts' | 'users' | 'audit' | 'desktops';

export function AdminNav({ user, current }: { user: SessionUser; current?: StaffPage }) {
  const links: { page: StaffPage; href: string; label: string; show: boolean }[] = [
    { page: 'desktops', href: '/desktops', label: 'My desktops', show: true },
    { page: 'helpdesk', href: '/helpdesk', label: 'Helpdesk', show: user.role === 'helpdesk' || user.role === 'admin' },
    { page: 'pools', href: '/admin/pools', label: 'Pools', show: user.role === 'admin' },
    { page: 'hosts', href: '/admin/hosts', label: 'Hosts', show: user.role === 'admin' },
    { page: 'users', href: '/admin/users', label: 'Users', show: user.role === 'admin' },
    { page: 'audit', href: '/admin/audit', label: 'Audit log', show: user.role === 'admin' },
  ];
  return (
    <nav className="staff-nav" aria-label="Staff">
      <ul>
        {links
          .filter((l) => l.show)
          .map((l) => (
            <li key={l.page}>
              <Link href={l.href} aria-current={current === l.page ? 'page' : undefined}>
                {l.label}
              </Link>
            </li>
          ))}
      </ul>
    </nav>
  );
}
