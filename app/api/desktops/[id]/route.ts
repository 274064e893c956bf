/** One of the signed-in person's desktops: its state, for the progress shown while it boots. */
import { NextResponse } from 'next/server';
import { currentUser } from '@/lib/auth';
import { desktopStatus } from '@/lib/desktops';
import { errorResponse, jsonError } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    const { id } = await context.params;
    return NextResponse.json({ desktop: await desktopStatus(user, id) });
  } catch (error) {
    return errorResponse(error);
  }
}
