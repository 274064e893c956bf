/** /admin: the admin's start page is the live pool page. */
import { redirect } from 'next/navigation';
import { requireRole } from '@/lib/auth';

export const dynamic = 'force-dynamic';

export default async function AdminHome() {
  await requireRole('admin');
  redirect('/admin/pools');
}
