/**
 * Admin: recycles a desktop, POST {"reason": "…"}: its VM is stopped and its disk deleted (the
 * desktop is gone); the reconcile loop boots spares to replace it. Audited with the reason.
 */
import { NextResponse } from 'next/server';
import { RecycleSchema, recycleDesktop } from '@/lib/admin';
import { requireApiRole } from '@/lib/auth';
import { errorResponse, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await requireApiRole('admin');
    const { id } = await context.params;
    const { reason } = await readJson(request, RecycleSchema);
    await recycleDesktop(user, id, reason);
    return NextResponse.json({ message: 'The desktop was recycled.' });
  } catch (error) {
    return errorResponse(error);
  }
}
