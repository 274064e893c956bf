/**
 * Helpdesk: a console ticket for someone else's running desktop, in the same shape as
 * /api/desktops/[id]/console-ticket ({path, sessionId, password, expiresAt}). The console it
 * opens takes the desktop over; the person's session ends taken-over, by "Helpdesk (name)".
 * Every ticket is in the audit log.
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { issueHelpdeskTicket } from '@/lib/helpdesk';
import { consoleTicketBody } from '@/lib/desktops';
import { errorResponse, requestOrigin } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await requireApiRole('helpdesk');
    const { id } = await context.params;
    const ticket = await issueHelpdeskTicket(user, id, requestOrigin(request));
    return NextResponse.json(
      consoleTicketBody(ticket),
      { headers: { 'Cache-Control': 'no-store' } },
    );
  } catch (error) {
    return errorResponse(error);
  }
}
