/**
 * The staff's navigation, shown under the top bar on the helpdesk and admin pages: Helpdesk for
 * helpdesk people and admins; Pools, Hosts, Users and Audit log for admins only (the pages check roles on the
 * server too; this only hides links that would answer 403).
 */
import { useTranslations } from 'next-intl';
import Link from 'next/link';
import type { SessionUser } from '@/lib/auth';

export type StaffPage = 'helpdesk' | 'pools' | 'hosts' | 'users' | 'audit' | 'desktops';

export function AdminNav({ user, current }: { user: SessionUser; current?: StaffPage }) {
  const t = useTranslations('Staff');
  const links: { page: StaffPage; href: string; label: string; show: boolean }[] = [
    { page: 'desktops', href: '/desktops', label: t('myDesktops'), show: true },
    { page: 'helpdesk', href: '/helpdesk', label: t('helpdesk'), show: user.role === 'helpdesk' || user.role === 'admin' },
    { page: 'pools', href: '/admin/pools', label: t('pools'), show: user.role === 'admin' },
    { page: 'hosts', href: '/admin/hosts', label: t('hosts'), show: user.role === 'admin' },
    { page: 'users', href: '/admin/users', label: t('users'), show: user.role === 'admin' },
    { page: 'audit', href: '/admin/audit', label: t('audit'), show: user.role === 'admin' },
  ];
  return (
    <nav className="staff-nav" aria-label={t('nav')}>
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
