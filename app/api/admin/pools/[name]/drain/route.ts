/**
 * Admin: drains a pool or opens it again, POST {"draining": true | false, "reason": "…"}. A
 * draining pool gives no desktop to anyone who has none there and boots no spares; desktops
 * already given stay. Audited with the reason.
 */
import { NextResponse } from 'next/server';
import { DrainSchema, setDraining } from '@/lib/admin';
import { requireApiRole } from '@/lib/auth';
import { errorResponse, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ name: string }> }) {
  try {
    const user = await requireApiRole('admin');
    const { name } = await context.params;
    const { draining, reason } = await readJson(request, DrainSchema);
    return NextResponse.json({ pool: await setDraining(user, name, draining, reason) });
  } catch (error) {
    return errorResponse(error);
  }
}
