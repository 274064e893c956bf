/**
 * Pools, for admins: GET lists every pool with its desktops counted by state; POST creates a
 * pool (409 if the name is taken). Bodies are validated field by field: a bad value gets a 400
 * naming the field, with `issues` ([{field, message}], one per field in plain words) for the
 * pool form to show beside each field.
 */
import { NextResponse } from 'next/server';
import { readPoolBody } from '@/lib/admin';
import { requireApiRole } from '@/lib/auth';
import { errorResponse } from '@/lib/http';
import { poolExists, poolSummaries, savePool } from '@/lib/pools';

export const dynamic = 'force-dynamic';

export async function GET() {
  try {
    await requireApiRole('admin');
    return NextResponse.json({ pools: await poolSummaries() });
  } catch (error) {
    return errorResponse(error);
  }
}

export async function POST(request: Request) {
  try {
    const user = await requireApiRole('admin');
    const body = await readPoolBody(request);
    if (!body.ok) return NextResponse.json({ error: body.error, issues: body.issues }, { status: 400 });
    const pool = body.pool;
    if (await poolExists(pool.name)) {
      return NextResponse.json(
        {
          error: `A pool named "${pool.name}" already exists.`,
          code: 'poolExists',
          params: { pool: pool.name },
          issues: [{ field: 'name', message: 'is taken by another pool', code: 'fieldPoolNameTaken' }],
        },
        { status: 409 },
      );
    }
    return NextResponse.json({ pool: await savePool(user, pool, 'create') }, { status: 201 });
  } catch (error) {
    return errorResponse(error);
  }
}

