/**
 * Helpdesk: how one console session of a person's desktop ended ({"session": {...}}, the shape
 * of /api/desktops/[id]/consoles/[sessionId]), for the helpdesk's console page to tell "taken
 * back by Alice Martin" from a network drop.
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { helpdeskConsoleStatus } from '@/lib/helpdesk';
import { errorResponse, jsonError } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, context: { params: Promise<{ id: string; sessionId: string }> }) {
  try {
    const user = await requireApiRole('helpdesk');
    const { id, sessionId } = await context.params;
    const status = await helpdeskConsoleStatus(user, id, sessionId);
    if (!status) return jsonError(404, 'There is no such console session on this desktop.');
    return NextResponse.json({ session: status }, { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
