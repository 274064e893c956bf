/**
 * Consoles open on one of the signed-in person's desktops, from the session records: the page
 * asks before connecting, so it can say "This desktop is open in another window (since 10:42
 * from 10.0.0.5). Continue here?" instead of silently taking it over.
 */
import { NextResponse } from 'next/server';
import { currentUser } from '@/lib/auth';
import { openConsoles } from '@/lib/desktops';
import { errorResponse, jsonError } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    const { id } = await context.params;
    return NextResponse.json({ open: await openConsoles(user, id) }, { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
