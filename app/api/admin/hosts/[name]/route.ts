/** One libvirt host, for admins: DELETE removes it when it runs none of Floe's desktops (409 otherwise). */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { removeHost } from '@/lib/hosts';
import { errorResponse } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function DELETE(_request: Request, { params }: { params: Promise<{ name: string }> }) {
  try {
    const admin = await requireApiRole('admin');
    await removeHost(admin, (await params).name);
    return new NextResponse(null, { status: 204 });
  } catch (error) {
    return errorResponse(error);
  }
}
