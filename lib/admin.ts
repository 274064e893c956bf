/**
 * What the admin pool page and its routes ask of the backend: one snapshot of the host (CPUs,
 * memory, KSM and the memory it saves), every pool with its desktops counted, and one page of
 * desktops with what each QEMU process uses (CPU % between this reading and the previous one,
 * kept here per desktop, and resident memory, both from /proc). Also the admin's actions:
 * KSM on/off and its scan rate, drain, recycle a desktop, delete a pool, publish or roll back
 * a template version (instant desktops), and pool forms whose errors name the field. Each
 * instant pool shows its template snapshot and what an extra idle clone costs in memory. Every action is written to the audit log with who and why.
 * Callers check the admin role first (lib/auth.ts).
 */
import 'server-only';
import { z } from 'zod';
import { DESKTOP_STATES, type DesktopPage, listDesktops } from '@/server/broker/desktop-queries';
import type { PoolDefinition } from '@/server/broker/pools';
import type { TemplateVersion, TemplateView } from '@/server/broker/template-versions';
import { type CloneMemoryCost, cloneMemoryCost } from '@/server/host/clone-memory';
import type { DesktopState } from '@/server/db/schema';
import { type HostStatus, type KsmStatus, configureKsm, readHost } from '@/server/host/ksm';
import { type ProcessSample, cpuPercent, sampleProcess } from '@/server/hypervisor/qemu/process-stats';
import { getRuntime } from '@/server/runtime-registry';
import type { SessionUser } from './auth';
import { type PreparingPoolView, hostUnreachable, preparingPools } from './desktops';
import { hostOf } from './helpdesk';
import { type FieldIssue, RequestError, fieldIssues, readJson } from './http';
import { PoolDefinitionSchema } from './pools';

export { DESKTOP_STATES };
export type { CloneMemoryCost, KsmStatus, PoolDefinition, TemplateView };

/** The page's filters, from the query string: `pool`, `state`, `user` (name, or "spare"), `page`. */
export const DesktopFilterSchema = z.object({
  pool: z.string().trim().max(40).optional().transform((v) => v || undefined),
  state: z.enum(DESKTOP_STATES as [DesktopState, ...DesktopState[]]).optional(),
  user: z.string().trim().max(100).optional().transform((v) => v || undefined),
  page: z.coerce.number().int().min(1).max(1_000_000).optional(),
});
export interface DesktopFilter {
  pool?: string;
  state?: DesktopState;
  user?: string;
  page?: number;
}

/** Reads the filters from URL search params; unknown or bad values are dropped, not refused. */
export function filterFromParams(params: URLSearchParams | Record<string, string | string[] | undefined>): DesktopFilter {
  const get = (key: string) => {
    const value = params instanceof URLSearchParams ? params.get(key) : params[key];
    return (Array.isArray(value) ? value[0] : value) ?? undefined;
  };
  const filter: DesktopFilter = {};
  for (const key of ['pool', 'state', 'user', 'page'] as const) {
    const one = DesktopFilterSchema.shape[key].safeParse(get(key));
    if (one.success && one.data !== undefined) Object.assign(filter, { [key]: one.data });
  }
  return filter;
}

export const ReasonSchema = z.string().trim().min(3, 'Say why (at least 3 characters).').max(500, 'Keep the reason under 500 characters.');

export const KsmChangeSchema = z
  .object({
    running: z.boolean().optional(),
    pagesToScan: z.number().int().min(1, 'at least 1 page').max(100_000, 'at most 100000 pages').optional(),
    reason: z.string().trim().max(500).optional(),
  })
  .strict()
  .refine((c) => c.running !== undefined || c.pagesToScan !== undefined, 'Say what to change: running or pagesToScan.');

export const DrainSchema = z.object({ draining: z.boolean(), reason: ReasonSchema }).strict();
export const RecycleSchema = z.object({ reason: ReasonSchema }).strict();
export const DeletePoolSchema = z.object({ reason: z.string().trim().max(500).optional() }).strict();
export const TemplateActionSchema = z.object({ action: z.enum(['publish', 'roll-back']), reason: ReasonSchema }).strict();

export interface HostView extends HostStatus {
  /** Memory of the desktops that run now (their pools' memoryMiB). */
  guestMemoryBytes: number;
  /** KSM's saving in percent of that guest memory, or null when no desktop runs. */
  savedPercentOfGuest: number | null;
}

export interface PoolRow {
  definition: PoolDefinition;
  /** Desktops that exist (every state but gone). */
  size: number;
  sparesReady: number;
  /** Being made or booting (spares and people's new desktops). */
  starting: number;
  assigned: number;
  failed: number;
  stopped: number;
  counts: Partial<Record<DesktopState, number>>;
  /** Template versions and the current version's snapshot (filled in by adminOverview). */
  template?: TemplateView | null;
  /** What the first and each extra running desktop of the pool cost in memory (two or more running). */
  cloneMemory?: CloneMemoryCost | null;
}

export interface AdminDesktopRow {
  id: string;
  pool: string;
  state: DesktopState;
  user: { name: string; displayName: string } | null;
  upSince: number | null;
  cpuPercent: number | null;
  vcpus: number | null;
  residentBytes: number | null;
  memoryMiB: number | null;
  spicePort: number | null;
  accelerator: string | null;
  host: string;
  /** Its host does not answer now (libvirt hosts): it may run, but cannot be reached. */
  unreachable: boolean;
  pid: number | null;
  failureReason: string | null;
  templateVersion: number | null;
  /** Made from an older template version than the pool's current one. */
  olderTemplate: boolean;
}

export interface AdminOverview {
  at: number;
  host: HostView;
  pools: PoolRow[];
  desktops: Omit<DesktopPage, 'rows'> & { rows: AdminDesktopRow[] };
  filter: DesktopFilter;
  /** Pools whose template is still being built. */
  preparing: PreparingPoolView[];
}

const RUNNING: DesktopState[] = ['booting', 'ready', 'assigned'];

/** The previous /proc reading per desktop, shared by every request of this process. */
const SAMPLES_KEY = Symbol.for('floe.admin.processSamples');
type SampleSlot = Record<symbol, Map<string, ProcessSample> | undefined>;
function previousSamples(): Map<string, ProcessSample> {
  const slot = globalThis as SampleSlot;
  return (slot[SAMPLES_KEY] ??= new Map());
}

async function measure(desktopId: string, pid: number | null): Promise<{ cpu: number | null; resident: number | null }> {
  const samples = previousSamples();
  if (!pid) {
    samples.delete(desktopId);
    return { cpu: null, resident: null };
  }
  const sample = await sampleProcess(pid);
  if (!sample) return { cpu: null, resident: null };
  const cpu = cpuPercent(samples.get(desktopId), sample);
  samples.set(desktopId, sample);
  return { cpu: cpu === undefined ? null : Math.max(0, cpu), resident: sample.residentBytes };
}

/** Forgets readings not refreshed for 10 minutes (desktops gone or no longer looked at). */
function pruneSamples(now: number): void {
  for (const [id, sample] of previousSamples()) if (now - sample.at > 600_000) previousSamples().delete(id);
}

export function poolRows(pools: PoolDefinition[], counts: Record<string, Partial<Record<DesktopState, number>>>): PoolRow[] {
  return pools.map((definition) => {
    const c = counts[definition.name] ?? {};
    const n = (s: DesktopState) => c[s] ?? 0;
    const size = Object.entries(c).reduce((sum, [state, count]) => sum + (state === 'gone' ? 0 : (count ?? 0)), 0);
    return {
      definition,
      size,
      sparesReady: n('ready'),
      starting: n('provisioning') + n('booting'),
      assigned: n('assigned'),
      failed: n('failed'),
      stopped: n('stopped'),
      counts: c,
    };
  });
}

/** Everything the live pool page shows, for one page of desktops under `filter`. */
export async function adminOverview(filter: DesktopFilter = {}): Promise<AdminOverview> {
  const runtime = getRuntime();
  const [host, pools, counts, page] = await Promise.all([
    readHost(),
    runtime.broker.listPools(),
    runtime.broker.poolCounts(),
    listDesktops(runtime.database.db, { ...filter, pageSize: 50 }),
  ]);
  const byName = new Map(pools.map((p) => [p.name, p]));
  let guestMemoryBytes = 0;
  for (const [name, states] of Object.entries(counts)) {
    const running = RUNNING.reduce((sum, s) => sum + (states[s] ?? 0), 0);
    guestMemoryBytes += running * (byName.get(name)?.memoryMiB ?? 0) * 1024 * 1024;
  }
  const now = Date.now();
  pruneSamples(now);
  const rowsOfPools = await Promise.all(poolRows(pools, counts).map((row) => withTemplate(row)));
  const currentVersion = new Map(rowsOfPools.map((row) => [row.definition.name, row.template?.current ?? 1]));
  const rows = await Promise.all(
    page.rows.map(async (d): Promise<AdminDesktopRow> => {
      const pool = byName.get(d.pool_name);
      const running = RUNNING.includes(d.state);
      const { cpu, resident } = running ? await measure(d.id, d.pid) : { cpu: null, resident: null };
      return {
        id: d.id,
        pool: d.pool_name,
        state: d.state,
        user: d.user_name ? { name: d.user_name, displayName: d.user_display_name ?? d.user_name } : null,
        upSince: running ? d.booted_at : null,
        cpuPercent: cpu,
        vcpus: pool?.vcpus ?? null,
        residentBytes: resident,
        memoryMiB: pool?.memoryMiB ?? null,
        spicePort: d.spice_port,
        accelerator: d.accelerator,
        host: hostOf(d),
        unreachable: hostUnreachable(d),
        pid: d.pid,
        failureReason: d.failure_reason,
        templateVersion: d.template_version,
        olderTemplate: d.template_version !== null && d.template_version < (currentVersion.get(d.pool_name) ?? 1),
      };
    }),
  );
  return {
    at: now,
    host: {
      ...host,
      guestMemoryBytes,
      savedPercentOfGuest: guestMemoryBytes > 0 ? (100 * host.ksm.savedBytes) / guestMemoryBytes : null,
    },
    pools: rowsOfPools,
    desktops: { ...page, rows },
    filter,
    preparing: preparingPools(),
  };
}

/** Measured on at most this many running desktops per pool (each reads /proc/PID/smaps_rollup). */
const CLONE_SAMPLE = 6;

/** A pool row with its template versions, snapshot, and the memory its running desktops cost. */
async function withTemplate(row: PoolRow): Promise<PoolRow> {
  const runtime = getRuntime();
  const name = row.definition.name;
  const [template, running] = await Promise.all([
    runtime.rollouts.view(name).catch(() => null),
    runtime.database.db
      .selectFrom('desktops')
      .select('pid')
      .where('pool_name', '=', name)
      .where('state', 'in', RUNNING)
      .where('pid', 'is not', null)
      .limit(CLONE_SAMPLE)
      .execute(),
  ]);
  const cloneMemory = await cloneMemoryCost(running.map((r) => r.pid!));
  return { ...row, template, cloneMemory };
}

/** Publishes a new template version (built, then rolled out in the background) or rolls back to the previous one. */
export async function changeTemplate(admin: SessionUser, poolName: string, action: 'publish' | 'roll-back', reason: string): Promise<TemplateVersion> {
  const runtime = getRuntime();
  await runtime.audit({ actor: admin.name, action: `template ${action} requested`, target: poolName, detail: { reason } });
  return action === 'publish' ? runtime.rollouts.publish(poolName, admin.name) : runtime.rollouts.rollBack(poolName, admin.name);
}

/** Turns KSM on or off and/or sets its scan rate; 403 with a plain message when the host does not allow it. */
export async function changeKsm(admin: SessionUser, change: z.infer<typeof KsmChangeSchema>): Promise<KsmStatus> {
  const runtime = getRuntime();
  const { reason, ...settings } = change;
  const status = await configureKsm(settings);
  await runtime.audit({ actor: admin.name, action: 'ksm change', target: 'host', detail: { ...settings, ...(reason ? { reason } : {}) } });
  return status;
}

export async function setDraining(admin: SessionUser, poolName: string, draining: boolean, reason: string): Promise<PoolDefinition> {
  const runtime = getRuntime();
  const pool = await runtime.broker.getPool(poolName);
  await runtime.broker.definePools([{ ...pool, draining }]);
  await runtime.audit({ actor: admin.name, action: draining ? 'pool drain' : 'pool undrain', target: poolName, detail: { reason } });
  return runtime.broker.getPool(poolName);
}

/** Recycles a desktop: its VM and disk are gone; the reconcile loop boots spares to replace it. */
export async function recycleDesktop(admin: SessionUser, desktopId: string, reason: string): Promise<void> {
  const runtime = getRuntime();
  const desktop = await runtime.broker.getDesktop(desktopId);
  if (!desktop || desktop.state === 'gone') throw new RequestError(404, 'There is no such desktop (it may have been recycled already).');
  if (desktop.state === 'provisioning' || desktop.state === 'stopping') {
    throw new RequestError(409, 'The desktop is starting or stopping; try again in a moment.');
  }
  const owner = desktop.user_id ? ((await runtime.accounts.findById(desktop.user_id))?.name ?? desktop.user_id) : null;
  await runtime.broker.destroyDesktop(desktopId);
  await runtime.audit({ actor: admin.name, action: 'desktop recycle', target: desktopId, detail: { pool: desktop.pool_name, owner, reason } });
}

/** Deletes a pool that has no desktops (409 otherwise), with the admin's reason in the audit log. */
export async function deletePoolWithReason(admin: SessionUser, name: string, reason: string | undefined): Promise<void> {
  const runtime = getRuntime();
  await runtime.broker.deletePool(name);
  await runtime.audit({ actor: admin.name, action: 'pool delete', target: name, detail: reason ? { reason } : null });
}

/**
 * Reads a pool definition from a request: malformed bodies are refused as readJson does; a
 * definition that does not validate answers `{ ok: false, error, issues }` with one issue per
 * field, for the form to show beside each field.
 */
export async function readPoolBody(
  request: Request,
): Promise<{ ok: true; pool: PoolDefinition } | { ok: false; error: string; issues: FieldIssue[] }> {
  const body = await readJson(request, z.unknown());
  const parsed = PoolDefinitionSchema.safeParse(body);
  if (parsed.success) return { ok: true, pool: parsed.data };
  const issues = fieldIssues(parsed.error);
  const error = `Invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`;
  return { ok: false, error, issues };
}
