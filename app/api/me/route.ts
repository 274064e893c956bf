/** Who is signed in: `GET /api/me` → {"user": {name, displayName, role}}, or 401 when nobody is. */
import { NextResponse } from 'next/server';
import { requireApiUser } from '@/lib/auth';
import { errorResponse } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET() {
  try {
    const user = await requireApiUser();
    return NextResponse.json(
      { user: { name: user.name, displayName: user.displayName, role: user.role } },
      { headers: { 'Cache-Control': 'no-store' } },
    );
  } catch (error) {
    return errorResponse(error);
  }
}
