/**
 * The admin pool page: the host (CPUs, memory, KSM with its switch and scan rate), every pool
 * with its desktops counted (and its actions), and the desktops a page of 50 at a time with
 * their CPU and memory use. Rendered once on the server from the URL's filters, then kept live
 * in the browser (components/admin/PoolsLive.tsx polls every 2 s). Admins only.
 */
import { getTranslations } from 'next-intl/server';
import { AdminNav } from '@/components/admin/AdminNav';
import { PoolsLive } from '@/components/admin/PoolsLive';
import { TopBar } from '@/components/TopBar';
import { adminOverview, filterFromParams } from '@/lib/admin';
import { requireRole } from '@/lib/auth';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('AdminPools'))('metaTitle') };
}

export default async function AdminPoolsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireRole('admin');
  const overview = await adminOverview(filterFromParams(await searchParams));
  const t = await getTranslations('AdminPools');
  return (
    <>
      <TopBar user={user} />
      <AdminNav user={user} current="pools" />
      <main className="page wide">
        <h1>{t('title')}</h1>
        <PoolsLive initial={overview} />
      </main>
    </>
  );
}
