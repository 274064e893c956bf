/**
 * The signed-in person's desktops. GET lists the pools they may use with their desktop in each;
 * POST {"pool": name} gives them their desktop of that pool (existing, spare or newly booted).
 */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { currentUser } from '@/lib/auth';
import { openDesktop, poolOffers } from '@/lib/desktops';
import { errorResponse, jsonError, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

const OpenDesktopRequest = z.object({ pool: z.string().min(1).max(64) }).strict();

export async function GET() {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    return NextResponse.json({ pools: await poolOffers(user) });
  } catch (error) {
    return errorResponse(error);
  }
}

export async function POST(request: Request) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    const { pool } = await readJson(request, OpenDesktopRequest);
    return NextResponse.json({ desktop: await openDesktop(user, pool) });
  } catch (error) {
    return errorResponse(error);
  }
}
