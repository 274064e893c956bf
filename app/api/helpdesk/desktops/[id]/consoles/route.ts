/**
 * Helpdesk: consoles open on a person's desktop ({"open": [...]}, the shape of
 * /api/desktops/[id]/consoles), so the helpdesk's console page can say "Alice Martin has it open
 * since 10:42 from 10.0.0.5" before taking it over.
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { helpdeskOpenConsoles } from '@/lib/helpdesk';
import { errorResponse } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await requireApiRole('helpdesk');
    const { id } = await context.params;
    return NextResponse.json({ open: await helpdeskOpenConsoles(user, id) }, { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
