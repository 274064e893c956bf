/**
 * How one console session of the signed-in person's desktop ended: a page whose connection
 * dropped asks here before reconnecting, to tell "opened elsewhere at 10:51" (taken over) from
 * a network drop.
 */
import { NextResponse } from 'next/server';
import { currentUser } from '@/lib/auth';
import { consoleSessionStatus } from '@/lib/desktops';
import { errorResponse, jsonError } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, context: { params: Promise<{ id: string; sessionId: string }> }) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    const { id, sessionId } = await context.params;
    const status = await consoleSessionStatus(user, id, sessionId);
    if (!status) return jsonError(404, 'There is no such console session on this desktop.');
    return NextResponse.json({ session: status }, { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
