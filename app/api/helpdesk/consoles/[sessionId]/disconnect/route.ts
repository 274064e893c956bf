/**
 * Helpdesk: closes one open console session, POST {"reason": "…"}. The person's window is
 * closed by the server (close code 4001) and told the helpdesk closed it; the session record
 * ends with "closed by Helpdesk (name)" and the audit log keeps who did it and why.
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { HelpdeskReasonSchema, disconnectConsole } from '@/lib/helpdesk';
import { errorResponse, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ sessionId: string }> }) {
  try {
    const user = await requireApiRole('helpdesk');
    const { sessionId } = await context.params;
    const { reason } = await readJson(request, HelpdeskReasonSchema);
    await disconnectConsole(user, sessionId, reason);
    return NextResponse.json({ message: 'The console was closed.' });
  } catch (error) {
    return errorResponse(error);
  }
}
