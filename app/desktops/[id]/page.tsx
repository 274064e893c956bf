/** One desktop, full window: its start-up progress, then its live screen. */
import { notFound } from 'next/navigation';
import { DesktopConsole } from '@/components/DesktopConsole';
import { requireUser } from '@/lib/auth';
import { desktopStatus, idlePolicy } from '@/lib/desktops';

export const dynamic = 'force-dynamic';

export default async function DesktopPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser();
  const { id } = await params;
  const desktop = await desktopStatus(user, id).catch(() => null);
  if (!desktop) notFound();
  return <DesktopConsole initial={desktop} idle={await idlePolicy(user, id)} />;
}
