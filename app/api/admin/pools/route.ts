/**
 * Pools, for admins: GET lists every pool with its desktops counted by state; POST creates a
 * pool (409 if the name is taken). Bodies are validated field by field: a bad value gets a 400
 * naming the field.
 */
import { NextResponse } from 'next/server';
import { currentUser } from '@/lib/auth';
import { errorResponse, jsonError, readJson } from '@/lib/http';
import { PoolDefinitionSchema, poolExists, poolSummaries, savePool } from '@/lib/pools';

export const dynamic = 'force-dynamic';

export async function GET() {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    if (user.role !== 'admin') return jsonError(403, 'Only administrators may manage pools.');
    return NextResponse.json({ pools: await poolSummaries() });
  } catch (error) {
    return errorResponse(error);
  }
}

export async function POST(request: Request) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    if (user.role !== 'admin') return jsonError(403, 'Only administrators may manage pools.');
    const pool = await readJson(request, PoolDefinitionSchema);
    if (await poolExists(pool.name)) return jsonError(409, `A pool named "${pool.name}" already exists.`);
    return NextResponse.json({ pool: await savePool(user, pool, 'create') }, { status: 201 });
  } catch (error) {
    return errorResponse(error);
  }
}
