/**
 * One pool, for admins: PUT replaces its definition (the name in the path and body must match),
 * DELETE removes it when it has no desktops left.
 */
import { NextResponse } from 'next/server';
import { currentUser } from '@/lib/auth';
import { errorResponse, jsonError, readJson } from '@/lib/http';
import { PoolDefinitionSchema, deletePool, poolExists, savePool } from '@/lib/pools';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ name: string }> };

export async function PUT(request: Request, context: Context) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    if (user.role !== 'admin') return jsonError(403, 'Only administrators may manage pools.');
    const { name } = await context.params;
    const pool = await readJson(request, PoolDefinitionSchema);
    if (pool.name !== name) return jsonError(400, `Invalid request: name: must be "${name}" (renaming a pool is not supported).`);
    if (!(await poolExists(name))) return jsonError(404, `There is no desktop pool named "${name}".`);
    return NextResponse.json({ pool: await savePool(user, pool, 'update') });
  } catch (error) {
    return errorResponse(error);
  }
}

export async function DELETE(_request: Request, context: Context) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    if (user.role !== 'admin') return jsonError(403, 'Only administrators may manage pools.');
    const { name } = await context.params;
    await deletePool(user, name);
    return new NextResponse(null, { status: 204 });
  } catch (error) {
    return errorResponse(error);
  }
}
