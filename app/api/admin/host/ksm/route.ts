/**
 * Admin: kernel samepage merging on this host. POST {"running"?: boolean, "pagesToScan"?:
 * number, "reason"?: "…"} writes /sys/kernel/mm/ksm and answers the new status; 403 with a
 * plain message when Floe may not write there. Audited.
 */
import { NextResponse } from 'next/server';
import { KsmChangeSchema, changeKsm } from '@/lib/admin';
import { requireApiRole } from '@/lib/auth';
import { errorResponse, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request) {
  try {
    const user = await requireApiRole('admin');
    const change = await readJson(request, KsmChangeSchema);
    return NextResponse.json({ ksm: await changeKsm(user, change) });
  } catch (error) {
    return errorResponse(error);
  }
}
