/**
 * Helpdesk: acts on a person's desktop, POST {"action": "restart" | "reset" | "fresh" |
 * "return", "reason": "…"}. Restart boots it again on the same disk; reset is the reset
 * button; fresh discards it and boots a new one for the same person; return discards it (the
 * person gets a new one when they next open the pool). Audited with who and why.
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { HelpdeskActionSchema, actOnDesktop } from '@/lib/helpdesk';
import { errorResponse, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await requireApiRole('helpdesk');
    const { id } = await context.params;
    const { action, reason } = await readJson(request, HelpdeskActionSchema);
    return NextResponse.json(await actOnDesktop(user, id, action, reason));
  } catch (error) {
    return errorResponse(error);
  }
}
