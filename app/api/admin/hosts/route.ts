/**
 * libvirt hosts, for admins: GET lists every host with its state, memory, KSM figures and
 * desktops; POST adds a host (body: name, uri, and optionally pool, spiceListen, accelerator,
 * maxDesktops; a bad field is answered 400 naming it, a taken name or URI 409).
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { addHost, hostsView } from '@/lib/hosts';
import { RequestError, errorResponse } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET() {
  try {
    await requireApiRole('admin');
    return NextResponse.json(await hostsView());
  } catch (error) {
    return errorResponse(error);
  }
}

export async function POST(request: Request) {
  try {
    const admin = await requireApiRole('admin');
    if (!(request.headers.get('content-type') ?? '').includes('application/json')) {
      throw new RequestError(415, 'Send the request body as application/json.');
    }
    const body = (await request.json().catch(() => {
      throw new RequestError(400, 'The request body is not valid JSON.');
    })) as unknown;
    return NextResponse.json({ host: await addHost(admin, body) }, { status: 201 });
  } catch (error) {
    return errorResponse(error);
  }
}
