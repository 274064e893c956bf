/**
 * Admin: the live pool page's data, polled every 2 s: the host (CPUs, memory, KSM and what it
 * saves), every pool with its desktops counted, and one page (50) of desktops with their CPU
 * and memory use. Query: ?pool=&state=&user=&page= (bad values are ignored).
 */
import { NextResponse } from 'next/server';
import { adminOverview, filterFromParams } from '@/lib/admin';
import { requireApiRole } from '@/lib/auth';
import { errorResponse } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(request: Request) {
  try {
    await requireApiRole('admin');
    const filter = filterFromParams(new URL(request.url).searchParams);
    return NextResponse.json(await adminOverview(filter), { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
