/** Helpdesk: people whose user name or display name contains `q` (GET ?q=…), with their desktops and open consoles counted. */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { requireApiRole } from '@/lib/auth';
import { findPeople } from '@/lib/helpdesk';
import { errorResponse, jsonError } from '@/lib/http';

export const dynamic = 'force-dynamic';

const Query = z.string().trim().min(1).max(100);

export async function GET(request: Request) {
  try {
    await requireApiRole('helpdesk');
    const q = Query.safeParse(new URL(request.url).searchParams.get('q') ?? '');
    if (!q.success) return jsonError(400, 'Give a name to look for: ?q=… (1 to 100 characters).');
    return NextResponse.json({ people: await findPeople(q.data) }, { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
