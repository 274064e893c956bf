/**
 * The broker: gives people desktops from pools and keeps the database's idea of every desktop
 * true to the VMs that really run. `assignDesktop` is one database transaction (no desktop is
 * ever given to two people); booting happens after it, in the background, and moves a desktop
 * through provisioning → booting → assigned (or failed, with the reason). On start, `recover`
 * re-adopts the VMs an earlier Floe process left running and marks vanished ones failed.
 *
 * Destroy only on proof: a desktop is failed, discarded or stopped for good only when the
 * hypervisor has shown its VM gone. When it cannot tell (LivenessUnknownError, a stop that
 * did not finish), the desktop keeps its state, a warning is logged, and the reconcile loop
 * tries again. Every failure path may run twice and none rejects unhandled.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, Desktop, DesktopState } from '../db/schema';
import type { Hypervisor, SnapshotSource } from '../hypervisor/types';
import type { ConsoleSessions } from './console-sessions';
import { BrokerError, DesktopNotFoundError, PoolDrainingError, PoolExhaustedError, UnknownPoolError } from './errors';
import { type PoolDefinition, PoolDefinitionSchema, templateOf } from './pools';
import { TemplateVersionStore, versionLabel } from './template-versions';

/** States in which a desktop exists for its user (it counts towards the pool's size). */
export const LIVE_STATES: DesktopState[] = ['provisioning', 'booting', 'ready', 'assigned', 'stopping', 'stopped', 'failed'];
/** States in which a VM process is expected to run. */
const RUNNING_STATES: DesktopState[] = ['booting', 'ready', 'assigned'];

export interface BrokerOptions {
  db: Kysely<Database>;
  engine: 'sqlite' | 'postgres';
  hypervisor: Hypervisor;
  imageDir: string;
  log: Logger;
  /** Console session records, for the idle policy. */
  sessions: ConsoleSessions;
  /** How long a guest may take to become ready before the desktop is marked failed. Default 180 s. */
  bootTimeoutMs?: number;
  observer?: BrokerObserver;
  /** Template snapshots for instant desktops (pools with `instant`); without it every desktop boots. */
  snapshots?: SnapshotSource;
  /**
   * VMs that are not desktops and not the broker's to stop as strays (a template VM a snapshot
   * build, perhaps another replica's, runs right now). Default: none.
   */
  notDesktop?: (vmId: string) => boolean;
  /** This portal replica's id (FLOE_REPLICA_ID), recorded on the desktops it boots or adopts. */
  replicaId?: string;
}

/** What the broker reports as it works (metrics listen here). */
export interface BrokerObserver {
  /** A guest booted: seconds from QEMU start to ready. */
  desktopBooted?(pool: string, seconds: number): void;
  /** A person's request was answered with a ready desktop: seconds from the request. */
  desktopDelivered?(pool: string, seconds: number, from: 'existing' | 'spare' | 'boot'): void;
}

export type PowerAction = 'shutdown' | 'restart' | 'reset' | 'discard';

/** What one reconcile pass did, per desktop id. */
export interface ReconcileReport {
  sparesStarted: string[];
  discarded: string[];
  shutDown: string[];
}

/** A desktop assigned but never connected to is left alone at least this long. */
const FIRST_CONNECT_WINDOW_MS = 2 * 60_000;
/** After a pool's desktop fails to boot, wait this long before the next spare, doubling each time… */
const SPARE_BACKOFF_FIRST_MS = 10_000;
/** …up to this. */
const SPARE_BACKOFF_MAX_MS = 10 * 60_000;

export class Broker {
  private readonly db: Kysely<Database>;
  private readonly hypervisor: Hypervisor;
  private readonly log: Logger;
  private readonly bootTimeoutMs: number;
  /** Boots in flight, so tests and shutdown can wait for them. */
  private readonly boots = new Map<string, Promise<unknown>>();
  /** The last assignment queued per pool (inPoolOrder). */
  private readonly assignmentQueues = new Map<string, Promise<void>>();
  /** Pools whose last spare failed to boot: no new spare before `until`. */
  private readonly spareBackoff = new Map<string, { failures: number; until: number }>();
  /** Desktops Floe itself is stopping, whose exit is not a failure. */
  private readonly stopping = new Set<string>();
  /** When a person asked for a desktop that is still booting (for time-to-desktop). */
  private readonly requestedAt = new Map<string, number>();
  /** Each pool's template versions (template-versions.ts). */
  readonly templateVersions: TemplateVersionStore;
  /** Desktops to fail whose VM could not yet be shown stopped: desktop id → reason. */
  private readonly failLater = new Map<string, string>();

  constructor(private readonly options: BrokerOptions) {
    this.db = options.db;
    this.hypervisor = options.hypervisor;
    this.log = options.log;
    this.bootTimeoutMs = options.bootTimeoutMs ?? 180_000;
    this.templateVersions = new TemplateVersionStore(options.db);
    this.hypervisor.onExit((id, reason) => {
      this.noticeExit(id, reason).catch((error: unknown) => {
        // The database is away: the exit is recorded by the reconcile loop once it is back.
        this.log.error({ desktop: id, err: messageOf(error) }, 'could not record that a desktop VM exited; will retry');
        this.failLater.set(id, unexpectedStop(reason));
      });
    });
  }

  /** Stores pool definitions (from the pool file or the demo) in the database, replacing same-named ones. */
  async definePools(pools: PoolDefinition[]): Promise<void> {
    for (const pool of pools) {
      const definition = JSON.stringify(PoolDefinitionSchema.parse(pool));
      const updatedAt = Date.now();
      await this.db
        .insertInto('pools')
        .values({ name: pool.name, definition, updated_at: updatedAt })
        .onConflict((oc) => oc.column('name').doUpdateSet({ definition, updated_at: updatedAt }))
        .execute();
    }
  }

  /**
   * Defines the pools of the pool file (or the demo). A pool is written when the file's
   * definition of it is new or changed since the last start; otherwise the database's version,
   * which the admin may have changed at run time, stays.
   */
  async seedPools(pools: PoolDefinition[]): Promise<string[]> {
    const written: string[] = [];
    for (const pool of pools) {
      const key = `pool-source:${pool.name}`;
      const hash = createHash('sha256').update(JSON.stringify(PoolDefinitionSchema.parse(pool))).digest('hex');
      const seen = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      if (seen?.value === hash) continue;
      await this.definePools([pool]);
      await this.db
        .insertInto('settings')
        .values({ key, value: hash })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: hash }))
        .execute();
      written.push(pool.name);
    }
    return written;
  }

  async listPools(): Promise<PoolDefinition[]> {
    const rows = await this.db.selectFrom('pools').selectAll().orderBy('name').execute();
    return rows.map((r) => PoolDefinitionSchema.parse(JSON.parse(r.definition)));
  }

  /** Deletes a pool that has no desktops left; refuses (409) while it has any. */
  async deletePool(name: string): Promise<void> {
    await this.getPool(name);
    const { count } = await this.db
      .selectFrom('desktops')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('pool_name', '=', name)
      .where('state', 'in', LIVE_STATES)
      .executeTakeFirstOrThrow();
    if (Number(count) > 0) {
      throw new BrokerError(`The pool "${name}" still has ${count} desktop(s); recycle them first.`, 409, { code: 'poolHasDesktops', params: { pool: name, count } });
    }
    await this.db.deleteFrom('pools').where('name', '=', name).execute();
  }

  /** Desktops of a pool by state (for the admin pages). */
  async poolCounts(): Promise<Record<string, Partial<Record<DesktopState, number>>>> {
    const rows = await this.db
      .selectFrom('desktops')
      .select((eb) => ['pool_name', 'state', eb.fn.countAll<number>().as('count')])
      .where('state', '!=', 'gone')
      .groupBy(['pool_name', 'state'])
      .execute();
    const counts: Record<string, Partial<Record<DesktopState, number>>> = {};
    for (const row of rows) (counts[row.pool_name] ??= {})[row.state] = Number(row.count);
    return counts;
  }

  async getPool(name: string): Promise<PoolDefinition> {
    const row = await this.db.selectFrom('pools').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new UnknownPoolError(name);
    return PoolDefinitionSchema.parse(JSON.parse(row.definition));
  }

  /** The user's desktops that still exist, newest first. */
  async desktopsOfUser(userId: string): Promise<Desktop[]> {
    return this.db
      .selectFrom('desktops')
      .selectAll()
      .where('user_id', '=', userId)
      .where('state', 'in', LIVE_STATES)
      .orderBy('created_at', 'desc')
      .execute();
  }

  /** The desktop if it belongs to `userId`; throws DesktopNotFoundError otherwise (same answer for "not yours"). */
  async desktopOfUser(userId: string, desktopId: string): Promise<Desktop> {
    const desktop = await this.db
      .selectFrom('desktops')
      .selectAll()
      .where('id', '=', desktopId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!desktop || desktop.state === 'gone') throw new DesktopNotFoundError();
    return desktop;
  }

  async getDesktop(desktopId: string): Promise<Desktop | undefined> {
    return this.db.selectFrom('desktops').selectAll().where('id', '=', desktopId).executeTakeFirst();
  }

  /**
   * Gives `userId` a desktop of `poolName`: their existing one (started again if it was shut
   * down or failed), else a ready spare, else a new one while the pool is under `maxSize`;
   * else PoolExhaustedError. Returns at once; booting goes on in the background.
   */
  async assignDesktop(userId: string, poolName: string): Promise<Desktop> {
    const requested = Date.now();
    const pool = await this.getPool(poolName);
    const { desktop, boot, source } = await this.inPoolOrder(poolName, () => this.db.transaction().execute(async (trx) => {
      // On PostgreSQL, lock the pool row so parallel assignments of one pool queue up;
      // SQLite runs one write transaction at a time anyway.
      if (this.options.engine === 'postgres') {
        await trx.selectFrom('pools').select('name').where('name', '=', poolName).forUpdate().execute();
      }
      const now = Date.now();
      const own = await trx
        .selectFrom('desktops')
        .selectAll()
        .where('user_id', '=', userId)
        .where('pool_name', '=', poolName)
        .where('state', 'in', LIVE_STATES)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (own) {
        if (own.state === 'stopped' || own.state === 'failed') {
          const restarted = { ...own, state: 'provisioning' as const, failure_reason: null, state_changed_at: now };
          await trx
            .updateTable('desktops')
            .set({ state: 'provisioning', failure_reason: null, state_changed_at: now })
            .where('id', '=', own.id)
            .execute();
          return { desktop: restarted, boot: true, source: 'boot' as const };
        }
        return { desktop: own, boot: false, source: 'existing' as const };
      }
      if (pool.draining) throw new PoolDrainingError(pool.title);
      const spare = await trx
        .selectFrom('desktops')
        .selectAll()
        .where('pool_name', '=', poolName)
        .where('state', '=', 'ready')
        .where('user_id', 'is', null)
        .orderBy('booted_at')
        .executeTakeFirst();
      if (spare) {
        const claimed = await trx
          .updateTable('desktops')
          .set({ state: 'assigned', user_id: userId, assigned_at: now, state_changed_at: now })
          .where('id', '=', spare.id)
          .where('state', '=', 'ready')
          .where('user_id', 'is', null)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 1) {
          return { desktop: { ...spare, state: 'assigned' as const, user_id: userId, assigned_at: now }, boot: false, source: 'spare' as const };
        }
      }
      const { count } = await trx
        .selectFrom('desktops')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('pool_name', '=', poolName)
        .where('state', 'in', LIVE_STATES)
        .executeTakeFirstOrThrow();
      if (Number(count) >= pool.maxSize) throw new PoolExhaustedError(pool.title, pool.maxSize);
      const fresh = newDesktopRow(poolName, userId, now, this.options.replicaId);
      await trx.insertInto('desktops').values(fresh).execute();
      return { desktop: fresh, boot: true, source: 'boot' as const };
    }));
    if (boot) this.requestedAt.set(desktop.id, requested);
    else if (desktop.state === 'assigned') {
      this.options.observer?.desktopDelivered?.(poolName, (Date.now() - requested) / 1000, source === 'spare' ? 'spare' : 'existing');
    }
    if (boot) this.startBoot(desktop.id, pool);
    // A spare was taken: its replacement starts now, not at the next reconcile pass.
    if (source === 'spare') this.reconcileSoon?.();
    this.log.info({ desktop: desktop.id, user: userId, pool: poolName, state: desktop.state }, 'desktop assigned');
    return desktop;
  }

  /**
   * Runs `work` after every earlier assignment of the pool in this process has finished. A burst
   * of people asking for one pool waits here, in memory, rather than each holding a database
   * connection while it queues on the pool row's lock (which, with 200 at once, used up the
   * connection pool and refused people with a connection timeout). Across replicas the row lock
   * still orders them.
   */
  private inPoolOrder<T>(poolName: string, work: () => Promise<T>): Promise<T> {
    const previous = this.assignmentQueues.get(poolName) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.assignmentQueues.set(poolName, tail);
    void tail.then(() => {
      if (this.assignmentQueues.get(poolName) === tail) this.assignmentQueues.delete(poolName);
    });
    return result;
  }

  /**
   * Waits up to `timeoutMs` for the desktop's start in flight to finish (ready or failed). An
   * instant clone is ready well within a second, so a person's request can answer "ready" and
   * their page connects at once instead of showing boot progress.
   */
  async waitForStart(desktopId: string, timeoutMs: number): Promise<void> {
    const boot = this.boots.get(desktopId);
    if (!boot) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([boot, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Waits until every boot in flight has finished (ready or failed). */
  async settle(): Promise<void> {
    while (this.boots.size > 0) await Promise.allSettled([...this.boots.values()]);
  }

  /**
   * Re-adopts the VMs an earlier Floe left running, marks desktops whose VM vanished as failed,
   * and stops VMs the database does not know. Call at start, before serving, and whenever this
   * replica takes the reconcile lease (server/replicas). Desktops driven by one of
   * `liveReplicas` (other replicas whose heartbeat is fresh) are theirs and left alone. When the
   * hypervisor cannot tell which VMs run, this rejects and decides nothing.
   */
  async recover(
    options: { liveReplicas?: ReadonlySet<string>; only?: ReadonlySet<string> } = {},
  ): Promise<{ adopted: string[]; failed: string[]; stray: string[]; unknown: string[] }> {
    const running = new Map((await this.hypervisor.list()).map((vm) => [vm.id, vm]));
    const rows = (await this.db.selectFrom('desktops').selectAll().where('state', 'in', LIVE_STATES).execute()).filter(
      (row) => !options.only || options.only.has(row.id),
    );
    const adopted: string[] = [];
    const failed: string[] = [];
    const unknown: string[] = [];
    this.lastLiveReplicas = options.liveReplicas;
    for (const row of rows) {
      const vm = running.get(row.id);
      running.delete(row.id);
      this.unsettled.delete(row.id);
      // Its host does not answer (libvirt): not proof of anything; settled when it answers.
      if (!vm && this.hypervisor.livenessUnknown?.(row.id)) {
        if (row.state !== 'stopped' && row.state !== 'failed') {
          this.unsettled.add(row.id);
          unknown.push(row.id);
        }
        continue;
      }
      // Run again when this replica takes the reconcile lease back: what it is booting or
      // stopping itself right now is not a vanished VM.
      if (this.boots.has(row.id) || this.stopping.has(row.id)) continue;
      // Another live replica boots or drives it (perhaps its QEMU is not started yet): its call.
      if (row.driven_by && row.driven_by !== this.options.replicaId && options.liveReplicas?.has(row.driven_by)) continue;
      if (vm && RUNNING_STATES.concat('provisioning').includes(row.state)) {
        await this.setState(row.id, row.state === 'provisioning' ? 'booting' : row.state, {
          pid: vm.pid,
          spice_host: vm.spiceHost,
          spice_port: vm.spicePort,
          accelerator: vm.accelerator,
          driven_by: this.options.replicaId ?? null,
        });
        adopted.push(row.id);
        if (row.state === 'booting' || row.state === 'provisioning') {
          const pool = await this.getPool(row.pool_name).catch(() => undefined);
          if (pool) this.track(row.id, this.awaitReady(row.id, pool));
        }
      } else if (vm && row.state === 'stopping') {
        this.stopping.add(row.id);
        const stopped = await this.hypervisor.stop(row.id).then(
          () => true,
          (error: unknown) => {
            this.log.warn({ desktop: row.id, err: messageOf(error) }, 'could not stop a desktop left stopping; left as it is');
            return false;
          },
        );
        this.stopping.delete(row.id);
        if (stopped) await this.setState(row.id, 'stopped', { pid: null, spice_port: null });
      } else if (!vm && (RUNNING_STATES.includes(row.state) || row.state === 'provisioning')) {
        await this.setState(row.id, 'failed', { failure_reason: 'The desktop stopped while Floe was not running.', pid: null });
        failed.push(row.id);
      } else if (!vm && row.state === 'stopping') {
        await this.setState(row.id, 'stopped', { pid: null, spice_port: null });
      }
    }
    // A pass over some desktops only (those settled late) cannot tell a stray from the others.
    const stray = options.only ? [] : [...running.keys()].filter((id) => !this.options.notDesktop?.(id));
    for (const id of stray) {
      this.stopping.add(id);
      await this.hypervisor.stop(id).catch(() => undefined);
      this.stopping.delete(id);
    }
    if (adopted.length || failed.length || stray.length) this.log.info({ adopted, failed, stray }, 'recovered desktops');
    if (unknown.length) this.log.warn({ unknown }, 'left desktops as they are: their hosts do not answer; settled when they do');
    return { adopted, failed, stray, unknown };
  }

  /** Desktops recovery left as they were because their host did not answer (see recover). */
  private readonly unsettled = new Set<string>();
  private lastLiveReplicas: ReadonlySet<string> | undefined;

  /** Recovers the desktops left unsettled whose host answers now (each reconcile pass). */
  private async settleLate(): Promise<void> {
    const known = [...this.unsettled].filter((id) => !this.hypervisor.livenessUnknown?.(id));
    if (known.length) await this.recover({ liveReplicas: this.lastLiveReplicas, only: new Set(known) });
  }

  /** Shuts a desktop down; a persistent one keeps its disk and can be started again. */
  async stopDesktop(desktopId: string): Promise<void> {
    await this.whileStopping(desktopId, () => this.hypervisor.stop(desktopId));
    await this.setState(desktopId, 'stopped', { pid: null, spice_port: null });
  }

  /** Stops the desktop's VM and deletes its disk: the desktop is gone. */
  async destroyDesktop(desktopId: string): Promise<void> {
    await this.whileStopping(desktopId, () => this.hypervisor.destroy(desktopId));
    await this.setState(desktopId, 'gone', { pid: null, spice_port: null });
  }

  /**
   * Runs a stop or destroy with the desktop in `stopping`. When the hypervisor could not show
   * the VM gone, the desktop goes back to the state it had: nothing is decided on a guess.
   */
  private async whileStopping(desktopId: string, work: () => Promise<void>): Promise<void> {
    const before = await this.getDesktop(desktopId);
    await this.setState(desktopId, 'stopping');
    this.stopping.add(desktopId);
    try {
      await work();
    } catch (error) {
      if (before && before.state !== 'stopping') await this.setState(desktopId, before.state);
      throw error;
    } finally {
      this.stopping.delete(desktopId);
    }
  }

  /**
   * One pass of the reconcile loop, pool by pool: stateless desktops that failed are discarded;
   * the disconnect policy applies to desktops whose last console closed more than
   * `graceMinutes` ago (stateless: discarded, persistent: shut down when `onIdle` says so);
   * then spares are booted until `spares` are ready or booting, within `maxSize`.
   */
  async reconcile(now = Date.now()): Promise<ReconcileReport> {
    const report: ReconcileReport = { sparesStarted: [], discarded: [], shutDown: [] };
    for (const [desktopId, reason] of [...this.failLater]) await this.fail(desktopId, reason);
    await this.settleLate();
    for (const pool of await this.listPools()) {
      // Instant pools: the current version's snapshot is built in the background if missing.
      if (pool.instant && this.options.snapshots) {
        const version = await this.templateVersions.current(pool);
        await this.options.snapshots.ready(templateOf(pool, this.options.imageDir), versionLabel(version)).catch(() => undefined);
      }
      const desktops = await this.db
        .selectFrom('desktops')
        .selectAll()
        .where('pool_name', '=', pool.name)
        .where('state', 'in', LIVE_STATES)
        .execute();
      for (const desktop of desktops) {
        if (this.boots.has(desktop.id) || this.stopping.has(desktop.id) || this.failLater.has(desktop.id)) continue;
        try {
          if (pool.kind === 'stateless' && desktop.state === 'failed') {
            await this.destroyDesktop(desktop.id);
            report.discarded.push(desktop.id);
            continue;
          }
          if (!(await this.isIdle(desktop, pool, now))) continue;
          if (pool.kind === 'stateless') {
            await this.destroyDesktop(desktop.id);
            report.discarded.push(desktop.id);
          } else {
            await this.stopDesktop(desktop.id);
            report.shutDown.push(desktop.id);
          }
        } catch (error) {
          // One desktop that cannot be decided on now does not hold up the others.
          this.log.warn({ desktop: desktop.id, err: messageOf(error) }, 'left a desktop as it is; will try again');
        }
      }
      report.sparesStarted.push(...(await this.topUpSpares(pool)));
    }
    const changed = report.sparesStarted.length + report.discarded.length + report.shutDown.length;
    if (changed > 0) this.log.info(report, 'reconciled pools');
    return report;
  }

  /**
   * Runs `reconcile` every `intervalMs` (default 2 s) until the returned function is called;
   * a spare being taken runs a pass at once (its replacement should not wait for the timer).
   * While `paused()` says so (the database is away), passes are skipped: nothing is decided.
   */
  startReconciling(intervalMs = 2000, paused: () => boolean = () => false): () => void {
    let running = false;
    let again = false;
    const pass = () => {
      if (paused()) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      this.reconcile()
        .catch((error: unknown) => this.log.error({ err: error }, 'reconcile failed'))
        .finally(() => {
          running = false;
          if (again) {
            again = false;
            setImmediate(pass);
          }
        });
    };
    const timer = setInterval(pass, intervalMs);
    timer.unref();
    this.reconcileSoon = () => setImmediate(pass);
    return () => {
      clearInterval(timer);
      this.reconcileSoon = undefined;
    };
  }

  /** Set while the reconcile loop runs: asks for a pass now. */
  private reconcileSoon: (() => void) | undefined;

  /** Asks the running reconcile loop for a pass now (nothing when it is not running). */
  reconcileNow(): void {
    this.reconcileSoon?.();
  }

  /**
   * A power action on a desktop: `shutdown` (a persistent desktop keeps its disk; a stateless
   * one is discarded), `restart` (a new QEMU on the same disk), `reset` (hard reset of the
   * running guest), `discard` (stateless only: the desktop and its disk are gone).
   */
  async powerAction(desktopId: string, action: PowerAction): Promise<Desktop> {
    const desktop = await this.getDesktop(desktopId);
    if (!desktop || desktop.state === 'gone') throw new DesktopNotFoundError();
    const pool = await this.getPool(desktop.pool_name);
    const busy = this.boots.has(desktopId) || this.stopping.has(desktopId);
    if (busy) throw new BrokerError('The desktop is starting or stopping; try again in a moment.', 409, { code: 'desktopBusy' });
    const running = RUNNING_STATES.includes(desktop.state);
    if (action === 'discard' || (action === 'shutdown' && pool.kind === 'stateless')) {
      if (pool.kind !== 'stateless') {
        throw new BrokerError('A persistent desktop cannot be discarded; shut it down instead.', 400, { code: 'persistentNotDiscarded' });
      }
      await this.destroyDesktop(desktopId);
    } else if (action === 'shutdown') {
      if (running) await this.stopDesktop(desktopId);
    } else if (action === 'restart') {
      if (running) await this.stopDesktop(desktopId);
      await this.setState(desktopId, 'provisioning', { failure_reason: null });
      this.startBoot(desktopId, pool);
    } else {
      if (!running) throw new BrokerError('The desktop is not running, so it cannot be reset.', 409, { code: 'notRunningNoReset' });
      await this.hypervisor.reset(desktopId);
      await this.setState(desktopId, 'booting');
      this.track(desktopId, this.awaitReady(desktopId, pool));
    }
    this.log.info({ desktop: desktopId, action }, 'power action');
    return (await this.getDesktop(desktopId))!;
  }

  /**
   * Discards the pool's spares (ready, nobody's) made from another template version than
   * `version`; the reconcile loop boots their replacements. A spare someone takes meanwhile is
   * theirs: it is claimed here with the same conditions an assignment uses.
   */
  async retireOutdatedSpares(poolName: string, version: number): Promise<string[]> {
    const spares = await this.db
      .selectFrom('desktops')
      .select(['id', 'template_version'])
      .where('pool_name', '=', poolName)
      .where('state', '=', 'ready')
      .where('user_id', 'is', null)
      .execute();
    const retired: string[] = [];
    for (const spare of spares) {
      if ((spare.template_version ?? 1) === version || this.boots.has(spare.id)) continue;
      const claimed = await this.db
        .updateTable('desktops')
        .set({ state: 'stopping', state_changed_at: Date.now() })
        .where('id', '=', spare.id)
        .where('state', '=', 'ready')
        .where('user_id', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      await this.destroyDesktop(spare.id);
      retired.push(spare.id);
    }
    return retired;
  }

  /**
   * When the disconnect policy will apply to a desktop (stateless: discarded, persistent with
   * `onIdle: shutdown`: shut down): `graceMinutes` after its last console closed, or after it
   * was assigned when nobody ever connected. Null while a console is open, or when the policy
   * keeps it running. My desktops shows this as "Shuts down in 12 minutes".
   */
  async policyDeadline(desktop: Desktop, pool: PoolDefinition): Promise<number | null> {
    if (desktop.state !== 'assigned' || (pool.kind === 'persistent' && pool.onIdle === 'keep')) return null;
    const activity = await this.options.sessions.activity(desktop.id);
    if (activity.open > 0) return null;
    const graceMs = pool.graceMinutes * 60_000;
    if (activity.lastEndedAt !== undefined) return activity.lastEndedAt + graceMs;
    const since = Math.max(desktop.assigned_at ?? 0, desktop.booted_at ?? 0);
    return since + Math.max(graceMs, FIRST_CONNECT_WINDOW_MS);
  }

  private async isIdle(desktop: Desktop, pool: PoolDefinition, now: number): Promise<boolean> {
    const deadline = await this.policyDeadline(desktop, pool);
    return deadline !== null && now >= deadline;
  }

  /** Boots spares until the pool has `spares` unassigned desktops ready or on their way. */
  private async topUpSpares(pool: PoolDefinition): Promise<string[]> {
    if (pool.spares === 0 || pool.draining) return [];
    if (Date.now() < (this.spareBackoff.get(pool.name)?.until ?? 0)) return [];
    const created = await this.db.transaction().execute(async (trx) => {
      if (this.options.engine === 'postgres') {
        await trx.selectFrom('pools').select('name').where('name', '=', pool.name).forUpdate().execute();
      }
      const counts = await trx
        .selectFrom('desktops')
        .select((eb) => [
          eb.fn.countAll<number>().as('live'),
          eb.fn
            .count<number>('id')
            .filterWhere((w) => w.and([w('user_id', 'is', null), w('state', 'in', ['provisioning', 'booting', 'ready'])]))
            .as('spare'),
        ])
        .where('pool_name', '=', pool.name)
        .where('state', 'in', LIVE_STATES)
        .executeTakeFirstOrThrow();
      const wanted = Math.min(pool.spares - Number(counts.spare), pool.maxSize - Number(counts.live));
      const rows: Desktop[] = [];
      const now = Date.now();
      for (let i = 0; i < wanted; i++) rows.push(newDesktopRow(pool.name, null, now, this.options.replicaId));
      if (rows.length > 0) await trx.insertInto('desktops').values(rows).execute();
      return rows;
    });
    for (const row of created) this.startBoot(row.id, pool);
    return created.map((row) => row.id);
  }

  private startBoot(desktopId: string, pool: PoolDefinition): void {
    this.track(desktopId, this.boot(desktopId, pool));
  }

  private track(desktopId: string, work: Promise<unknown>): void {
    const done = work
      .catch((error: unknown) => this.log.error({ desktop: desktopId, err: messageOf(error) }, 'desktop boot ended with an error'))
      .finally(() => this.boots.delete(desktopId));
    this.boots.set(desktopId, done);
  }

  private async boot(desktopId: string, pool: PoolDefinition): Promise<void> {
    const started = Date.now();
    const booted = await this.bootOnce(desktopId, pool, started);
    // A pool whose desktops cannot start (its image is missing…) boots spares ever more rarely.
    if (booted) this.spareBackoff.delete(pool.name);
    else {
      const failures = (this.spareBackoff.get(pool.name)?.failures ?? 0) + 1;
      const waitMs = Math.min(SPARE_BACKOFF_MAX_MS, SPARE_BACKOFF_FIRST_MS * 2 ** (failures - 1));
      this.spareBackoff.set(pool.name, { failures, until: Date.now() + waitMs });
    }
  }

  /** Starts the VM and waits for it; false if the desktop failed. */
  private async bootOnce(desktopId: string, pool: PoolDefinition, started: number): Promise<boolean> {
    try {
      const template = templateOf(pool, this.options.imageDir);
      // A desktop without a version has no disk yet: it is made from the current version, as a
      // clone of its snapshot when the pool is instant and the snapshot is ready.
      const row = await this.getDesktop(desktopId);
      const isNew = row?.template_version == null;
      const version = row?.template_version ?? (await this.templateVersions.current(pool));
      const snapshot =
        isNew && pool.instant ? await this.options.snapshots?.ready(template, versionLabel(version)).catch(() => undefined) : undefined;
      const vm = await this.hypervisor.start({ id: desktopId, template, snapshot, fresh: isNew });
      await this.untilStored(desktopId, () =>
        this.setState(desktopId, 'booting', {
          pid: vm.pid,
          spice_host: vm.spiceHost,
          spice_port: vm.spicePort,
          accelerator: vm.accelerator,
          template_version: version,
          driven_by: this.options.replicaId ?? null,
        }),
      );
      if (!(await this.awaitReady(desktopId, pool))) return false;
      this.log.info({ desktop: desktopId, ms: Date.now() - started }, 'desktop booted');
      this.options.observer?.desktopBooted?.(pool.name, (Date.now() - started) / 1000);
      return true;
    } catch (error) {
      await this.fail(desktopId, `The desktop could not start: ${messageOf(error)}`);
      return false;
    }
  }

  /** Waits for the guest; false if it failed (then the desktop is marked failed). */
  private async awaitReady(desktopId: string, pool: PoolDefinition): Promise<boolean> {
    try {
      await this.hypervisor.waitReady(desktopId, templateOf(pool, this.options.imageDir).readiness, this.bootTimeoutMs);
    } catch (error) {
      await this.fail(desktopId, `The desktop did not finish booting: ${messageOf(error)}`);
      return false;
    }
    const row = await this.untilStored(desktopId, () => this.getDesktop(desktopId));
    if (!row || row.state !== 'booting') return true;
    await this.untilStored(desktopId, () => this.setState(desktopId, row.user_id ? 'assigned' : 'ready', { booted_at: Date.now() }));
    const requested = this.requestedAt.get(desktopId);
    this.requestedAt.delete(desktopId);
    if (requested !== undefined) this.options.observer?.desktopDelivered?.(pool.name, (Date.now() - requested) / 1000, 'boot');
    return true;
  }

  /**
   * Runs a database step of a boot until it works: a database that is away is no reason to
   * fail (and so stop) a VM that is running well. Retries with a growing pause, up to 5 s.
   */
  private async untilStored<T>(desktopId: string, step: () => Promise<T>): Promise<T> {
    for (let pause = 250; ; pause = Math.min(pause * 2, 5000)) {
      try {
        return await step();
      } catch (error) {
        this.log.warn({ desktop: desktopId, err: messageOf(error) }, 'could not record a boot step; the database may be away; retrying');
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /**
   * Marks a desktop failed once its VM is shown stopped. When the stop cannot be shown (the
   * hypervisor cannot tell, the database is away), the desktop is left as it is and the
   * reconcile loop tries again. Never rejects; safe to call twice.
   */
  private async fail(desktopId: string, reason: string): Promise<void> {
    try {
      const row = await this.getDesktop(desktopId);
      if (!row || row.state === 'gone' || row.state === 'stopped' || row.state === 'failed') {
        this.failLater.delete(desktopId);
        return;
      }
      this.stopping.add(desktopId);
      try {
        await this.hypervisor.stop(desktopId);
      } finally {
        this.stopping.delete(desktopId);
      }
      await this.setState(desktopId, 'failed', { failure_reason: reason, pid: null, spice_port: null });
      this.failLater.delete(desktopId);
      this.log.warn({ desktop: desktopId, reason }, 'desktop failed');
    } catch (error) {
      if (!this.failLater.has(desktopId)) {
        this.log.warn({ desktop: desktopId, reason, err: messageOf(error) }, 'desktop should fail but its VM could not be shown stopped; left as it is, will retry');
      }
      this.failLater.set(desktopId, reason);
    }
  }

  private async noticeExit(desktopId: string, reason: string): Promise<void> {
    if (this.stopping.has(desktopId)) return;
    const row = await this.getDesktop(desktopId).catch(() => undefined);
    if (!row || !RUNNING_STATES.includes(row.state)) return;
    this.log.warn({ desktop: desktopId, reason }, 'desktop VM exited');
    await this.setState(desktopId, 'failed', {
      failure_reason: unexpectedStop(reason),
      pid: null,
      spice_port: null,
    });
  }

  private async setState(
    desktopId: string,
    state: DesktopState,
    extra: Partial<Omit<Desktop, 'id' | 'state'>> = {},
  ): Promise<void> {
    await this.db
      .updateTable('desktops')
      .set({ ...extra, state, state_changed_at: Date.now() })
      .where('id', '=', desktopId)
      .execute();
  }
}

function newDesktopRow(poolName: string, userId: string | null, now: number, drivenBy: string | undefined): Desktop {
  return {
    id: `${poolName}-${randomBytes(4).toString('hex')}`,
    pool_name: poolName,
    state: 'provisioning',
    user_id: userId,
    failure_reason: null,
    pid: null,
    spice_host: null,
    spice_port: null,
    accelerator: null,
    created_at: now,
    state_changed_at: now,
    booted_at: null,
    assigned_at: userId ? now : null,
    template_version: null,
    driven_by: drivenBy ?? null,
  };
}

function unexpectedStop(reason: string): string {
  return `The desktop stopped unexpectedly (${reason}).`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
