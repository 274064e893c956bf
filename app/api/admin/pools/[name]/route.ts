/**
 * One pool, for admins: PUT replaces its definition (the name in the path and body must match;
 * a bad field gets a 400 with `issues` as POST /api/admin/pools does), DELETE removes it when
 * it has no desktops left (409 otherwise), with an optional JSON body {"reason": "…"} for the
 * audit log.
 */
import { NextResponse } from 'next/server';
import { DeletePoolSchema, deletePoolWithReason, readPoolBody } from '@/lib/admin';
import { requireApiRole } from '@/lib/auth';
import { errorResponse, jsonError, readJson } from '@/lib/http';
import { poolExists, savePool } from '@/lib/pools';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ name: string }> };

export async function PUT(request: Request, context: Context) {
  try {
    const user = await requireApiRole('admin');
    const { name } = await context.params;
    const body = await readPoolBody(request);
    if (!body.ok) return NextResponse.json({ error: body.error, issues: body.issues }, { status: 400 });
    const pool = body.pool;
    if (pool.name !== name) {
      return NextResponse.json(
        {
          error: `Invalid request: name: must be "${name}" (renaming a pool is not supported).`,
          issues: [{ field: 'name', message: `must stay "${name}" (a pool cannot be renamed)`, code: 'fieldPoolRename', params: { name } }],
        },
        { status: 400 },
      );
    }
    if (!(await poolExists(name))) return jsonError(404, `There is no desktop pool named "${name}".`);
    return NextResponse.json({ pool: await savePool(user, pool, 'update') });
  } catch (error) {
    return errorResponse(error);
  }
}

export async function DELETE(request: Request, context: Context) {
  try {
    const user = await requireApiRole('admin');
    const { name } = await context.params;
    const hasBody = (request.headers.get('content-type') ?? '').includes('application/json') && request.headers.get('content-length') !== '0';
    const { reason } = hasBody ? await readJson(request, DeletePoolSchema) : { reason: undefined };
    await deletePoolWithReason(user, name, reason);
    return new NextResponse(null, { status: 204 });
  } catch (error) {
    return errorResponse(error);
  }
}
