/**
 * The helpdesk's console of a person's desktop ("Open as helpdesk"): the console page for a
 * desktop that is not the viewer's. Opening it takes the desktop over; the person's window is
 * told the helpdesk opened it. Helpdesk people and admins only.
 *
 * DesktopConsole asks its API base for the desktop's state, its open consoles, how a console
 * ended and a ticket: here /api/helpdesk/desktops/ID…, the same routes for staff.
 */
import { notFound } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { DesktopConsole } from '@/components/DesktopConsole';
import { requireRole } from '@/lib/auth';
import { helpdeskDesktop } from '@/lib/helpdesk';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('HelpdeskPerson'))('consoleMetaTitle') };
}

export default async function HelpdeskConsolePage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireRole('helpdesk');
  const { id } = await params;
  const found = await helpdeskDesktop(user, safeDecode(id));
  if (!found) notFound();
  const t = await getTranslations('HelpdeskPerson');
  return (
    <DesktopConsole
      initial={found.desktop}
      apiBase={`/api/helpdesk/desktops/${encodeURIComponent(found.desktop.id)}`}
      backHref={`/helpdesk/people/${encodeURIComponent(found.owner.name)}`}
      backLabel={t('consolePage', { name: found.owner.displayName })}
      backToLabel={t('backToConsolePage', { name: found.owner.displayName })}
    />
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
