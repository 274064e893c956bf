/**
 * Helpdesk: "Open desktop as helpdesk", POST {"reason": "…"}. Records the reason in the audit
 * log and answers {"href"}: the console page that then asks for a helpdesk console ticket
 * (which takes the desktop over from the person's window).
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { HelpdeskReasonSchema, openAsHelpdesk } from '@/lib/helpdesk';
import { errorResponse, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await requireApiRole('helpdesk');
    const { id } = await context.params;
    const { reason } = await readJson(request, HelpdeskReasonSchema);
    return NextResponse.json(await openAsHelpdesk(user, id, reason));
  } catch (error) {
    return errorResponse(error);
  }
}
