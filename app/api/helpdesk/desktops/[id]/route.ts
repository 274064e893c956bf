/**
 * Helpdesk: a person's desktop as the console page follows it ({"desktop": DesktopView}, the
 * shape of /api/desktops/[id]), for the helpdesk's console of someone else's desktop.
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { helpdeskDesktop } from '@/lib/helpdesk';
import { errorResponse, jsonError } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await requireApiRole('helpdesk');
    const { id } = await context.params;
    const found = await helpdeskDesktop(user, id);
    if (!found) return jsonError(404, 'There is no such desktop (it may have been recycled).');
    return NextResponse.json({ desktop: found.desktop, owner: found.owner }, { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
