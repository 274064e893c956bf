/**
 * Pool administration for the admin API and pages: every pool with its desktops counted by
 * state, and creating, changing and deleting pools (validated by the broker's pool schema).
 * Callers check that the person is an admin.
 */
import 'server-only';
import { type PoolDefinition, confineTemplate } from '@/server/broker/pools';
import type { DesktopState } from '@/server/db/schema';
import { getRuntime } from '@/server/runtime-registry';
import type { SessionUser } from './auth';

export { PoolDefinitionSchema } from '@/server/broker/pools';

export interface PoolSummary extends PoolDefinition {
  desktops: Partial<Record<DesktopState, number>>;
}

export async function poolSummaries(): Promise<PoolSummary[]> {
  const { broker } = getRuntime();
  const [pools, counts] = await Promise.all([broker.listPools(), broker.poolCounts()]);
  return pools.map((pool) => ({ ...pool, desktops: counts[pool.name] ?? {} }));
}

/**
 * Creates or replaces a pool (already validated); its template's files must be in the image
 * folder (400 otherwise). The reconcile loop applies new sizes.
 */
export async function savePool(admin: SessionUser, pool: PoolDefinition, change: 'create' | 'update'): Promise<PoolDefinition> {
  const runtime = getRuntime();
  await runtime.broker.definePools([{ ...pool, template: confineTemplate(pool.template, runtime.config.imageDir) }]);
  await runtime.audit({ actor: admin.name, action: `pool ${change}`, target: pool.name, detail: pool as unknown as Record<string, unknown> });
  return runtime.broker.getPool(pool.name);
}

export async function poolExists(name: string): Promise<boolean> {
  return getRuntime()
    .broker.getPool(name)
    .then(() => true)
    .catch(() => false);
}

export async function deletePool(admin: SessionUser, name: string): Promise<void> {
  const runtime = getRuntime();
  await runtime.broker.deletePool(name);
  await runtime.audit({ actor: admin.name, action: 'pool delete', target: name });
}
