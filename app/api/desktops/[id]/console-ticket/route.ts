/**
 * Issues a console ticket for one of the signed-in person's running desktops: the WebSocket path
 * to connect to and the SPICE password for this console session, both valid for about a minute.
 */
import { NextResponse } from 'next/server';
import { currentUser } from '@/lib/auth';
import { consoleTicketBody, issueConsoleTicket } from '@/lib/desktops';
import { errorResponse, jsonError, requestOrigin } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    const { id } = await context.params;
    const ticket = await issueConsoleTicket(user, id, requestOrigin(request));
    return NextResponse.json(
      consoleTicketBody(ticket),
      { headers: { 'Cache-Control': 'no-store' } },
    );
  } catch (error) {
    return errorResponse(error);
  }
}
