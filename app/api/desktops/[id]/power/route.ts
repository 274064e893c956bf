/**
 * Power actions on one of the signed-in person's desktops: POST {"action": "shutdown" |
 * "restart" | "reset" | "discard"}. Persistent desktops keep their disk on shutdown; discard is
 * for stateless desktops.
 */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { currentUser } from '@/lib/auth';
import { POWER_ACTIONS, powerDesktop } from '@/lib/desktops';
import { errorResponse, jsonError, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

const PowerRequest = z.object({ action: z.enum(POWER_ACTIONS) }).strict();

export async function POST(request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    const { id } = await context.params;
    const { action } = await readJson(request, PowerRequest);
    return NextResponse.json({ desktop: await powerDesktop(user, id, action) });
  } catch (error) {
    return errorResponse(error);
  }
}
