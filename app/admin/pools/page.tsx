/**
 * The admin pool page: the host (CPUs, memory, KSM with its switch and scan rate), every pool
 * with its desktops counted (and its actions), and the desktops a page of 50 at a time with
 * their CPU and memory use. Rendered once on the server from the URL's filters, then kept live
 * in the browser (components/admin/PoolsLive.tsx polls every 2 s). Admins only.
 */
import { AdminNav } from '@/components/admin/AdminNav';
import { PoolsLive } from '@/components/admin/PoolsLive';
import { TopBar } from '@/components/TopBar';
import { adminOverview, filterFromParams } from '@/lib/admin';
import { requireRole } from '@/lib/auth';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Pools · Floe' };

export default async function AdminPoolsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireRole('admin');
  const overview = await adminOverview(filterFromParams(await searchParams));
  return (
    <>
      <TopBar user={user} />
      <AdminNav user={user} current="pools" />
      <main className="page wide">
        <h1>Pools and desktops</h1>
        <PoolsLive initial={overview} />
      </main>
    </>
  );
}
