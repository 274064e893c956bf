/**
 * The helpdesk's console of a person's desktop ("Open as helpdesk"): the console page for a
 * desktop that is not the viewer's. Opening it takes the desktop over; the person's window is
 * told the helpdesk opened it. Helpdesk people and admins only.
 *
 * DesktopConsole asks /api/desktops/ID… for the desktop's state, its open consoles, how a
 * console ended and a ticket; for someone else's desktop it must ask /api/helpdesk/desktops/ID…
 * instead (the same four routes, the same answers), to be passed once DesktopConsole takes
 * that base path as a prop.
 */
import { notFound } from 'next/navigation';
import { DesktopConsole } from '@/components/DesktopConsole';
import { requireRole } from '@/lib/auth';
import { helpdeskDesktop } from '@/lib/helpdesk';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Helpdesk console · Floe' };

export default async function HelpdeskConsolePage({ params }: { params: Promise<{ id: string }> }) {
  await requireRole('helpdesk');
  const { id } = await params;
  const found = await helpdeskDesktop(safeDecode(id));
  if (!found) notFound();
  return <DesktopConsole initial={found.desktop} />;
}

/** A path segment decoded, or as it is when it is not valid percent-encoding. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
