/**
 * The broker: gives people desktops from pools and keeps the database's idea of every desktop
 * true to the VMs that really run. `assignDesktop` is one database transaction (no desktop is
 * ever given to two people); booting happens after it, in the background, and moves a desktop
 * through provisioning → booting → assigned (or failed, with the reason). On start, `recover`
 * re-adopts the VMs an earlier Floe process left running and marks vanished ones failed.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, Desktop, DesktopState } from '../db/schema';
import type { Hypervisor } from '../hypervisor/types';
import { DesktopNotFoundError, PoolExhaustedError, UnknownPoolError } from './errors';
import { type PoolDefinition, PoolDefinitionSchema, templateOf } from './pools';

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
  /** How long a guest may take to become ready before the desktop is marked failed. Default 180 s. */
  bootTimeoutMs?: number;
}

export class Broker {
  private readonly db: Kysely<Database>;
  private readonly hypervisor: Hypervisor;
  private readonly log: Logger;
  private readonly bootTimeoutMs: number;
  /** Boots in flight, so tests and shutdown can wait for them. */
  private readonly boots = new Map<string, Promise<void>>();
  /** Desktops Floe itself is stopping, whose exit is not a failure. */
  private readonly stopping = new Set<string>();

  constructor(private readonly options: BrokerOptions) {
    this.db = options.db;
    this.hypervisor = options.hypervisor;
    this.log = options.log;
    this.bootTimeoutMs = options.bootTimeoutMs ?? 180_000;
    this.hypervisor.onExit((id, reason) => void this.noticeExit(id, reason));
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

  async listPools(): Promise<PoolDefinition[]> {
    const rows = await this.db.selectFrom('pools').selectAll().orderBy('name').execute();
    return rows.map((r) => PoolDefinitionSchema.parse(JSON.parse(r.definition)));
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
    const pool = await this.getPool(poolName);
    const { desktop, boot } = await this.db.transaction().execute(async (trx) => {
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
          return { desktop: restarted, boot: true };
        }
        return { desktop: own, boot: false };
      }
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
          return { desktop: { ...spare, state: 'assigned' as const, user_id: userId, assigned_at: now }, boot: false };
        }
      }
      const { count } = await trx
        .selectFrom('desktops')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('pool_name', '=', poolName)
        .where('state', 'in', LIVE_STATES)
        .executeTakeFirstOrThrow();
      if (Number(count) >= pool.maxSize) throw new PoolExhaustedError(pool.title, pool.maxSize);
      const fresh: Desktop = {
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
        assigned_at: now,
      };
      await trx.insertInto('desktops').values(fresh).execute();
      return { desktop: fresh, boot: true };
    });
    if (boot) this.startBoot(desktop.id, pool);
    this.log.info({ desktop: desktop.id, user: userId, pool: poolName, state: desktop.state }, 'desktop assigned');
    return desktop;
  }

  /** Waits until every boot in flight has finished (ready or failed). */
  async settle(): Promise<void> {
    while (this.boots.size > 0) await Promise.allSettled([...this.boots.values()]);
  }

  /**
   * Re-adopts the VMs an earlier Floe left running, marks desktops whose VM vanished as failed,
   * and stops VMs the database does not know. Call once at start, before serving.
   */
  async recover(): Promise<{ adopted: string[]; failed: string[]; stray: string[] }> {
    const running = new Map((await this.hypervisor.list()).map((vm) => [vm.id, vm]));
    const rows = await this.db.selectFrom('desktops').selectAll().where('state', 'in', LIVE_STATES).execute();
    const adopted: string[] = [];
    const failed: string[] = [];
    for (const row of rows) {
      const vm = running.get(row.id);
      running.delete(row.id);
      if (vm && RUNNING_STATES.concat('provisioning').includes(row.state)) {
        await this.setState(row.id, row.state === 'provisioning' ? 'booting' : row.state, {
          pid: vm.pid,
          spice_host: vm.spiceHost,
          spice_port: vm.spicePort,
          accelerator: vm.accelerator,
        });
        adopted.push(row.id);
        if (row.state === 'booting' || row.state === 'provisioning') {
          const pool = await this.getPool(row.pool_name).catch(() => undefined);
          if (pool) this.track(row.id, this.awaitReady(row.id, pool));
        }
      } else if (vm && row.state === 'stopping') {
        this.stopping.add(row.id);
        await this.hypervisor.stop(row.id).catch(() => undefined);
        this.stopping.delete(row.id);
        await this.setState(row.id, 'stopped', { pid: null, spice_port: null });
      } else if (!vm && (RUNNING_STATES.includes(row.state) || row.state === 'provisioning')) {
        await this.setState(row.id, 'failed', { failure_reason: 'The desktop stopped while Floe was not running.', pid: null });
        failed.push(row.id);
      } else if (!vm && row.state === 'stopping') {
        await this.setState(row.id, 'stopped', { pid: null, spice_port: null });
      }
    }
    const stray = [...running.keys()];
    for (const id of stray) {
      this.stopping.add(id);
      await this.hypervisor.stop(id).catch(() => undefined);
      this.stopping.delete(id);
    }
    if (adopted.length || failed.length || stray.length) this.log.info({ adopted, failed, stray }, 'recovered desktops');
    return { adopted, failed, stray };
  }

  /** Shuts a desktop down; a persistent one keeps its disk and can be started again. */
  async stopDesktop(desktopId: string): Promise<void> {
    await this.setState(desktopId, 'stopping');
    this.stopping.add(desktopId);
    try {
      await this.hypervisor.stop(desktopId);
    } finally {
      this.stopping.delete(desktopId);
    }
    await this.setState(desktopId, 'stopped', { pid: null, spice_port: null });
  }

  /** Stops the desktop's VM and deletes its disk: the desktop is gone. */
  async destroyDesktop(desktopId: string): Promise<void> {
    await this.setState(desktopId, 'stopping');
    this.stopping.add(desktopId);
    try {
      await this.hypervisor.destroy(desktopId);
    } finally {
      this.stopping.delete(desktopId);
    }
    await this.setState(desktopId, 'gone', { pid: null, spice_port: null });
  }

  private startBoot(desktopId: string, pool: PoolDefinition): void {
    this.track(desktopId, this.boot(desktopId, pool));
  }

  private track(desktopId: string, work: Promise<void>): void {
    const done = work.finally(() => this.boots.delete(desktopId));
    this.boots.set(desktopId, done);
  }

  private async boot(desktopId: string, pool: PoolDefinition): Promise<void> {
    const started = Date.now();
    try {
      const vm = await this.hypervisor.start({ id: desktopId, template: templateOf(pool, this.options.imageDir) });
      await this.setState(desktopId, 'booting', {
        pid: vm.pid,
        spice_host: vm.spiceHost,
        spice_port: vm.spicePort,
        accelerator: vm.accelerator,
      });
      await this.awaitReady(desktopId, pool);
      this.log.info({ desktop: desktopId, ms: Date.now() - started }, 'desktop booted');
    } catch (error) {
      await this.fail(desktopId, `The desktop could not start: ${messageOf(error)}`);
    }
  }

  private async awaitReady(desktopId: string, pool: PoolDefinition): Promise<void> {
    try {
      await this.hypervisor.waitReady(desktopId, templateOf(pool, this.options.imageDir).readiness, this.bootTimeoutMs);
    } catch (error) {
      await this.fail(desktopId, `The desktop did not finish booting: ${messageOf(error)}`);
      return;
    }
    const row = await this.getDesktop(desktopId);
    if (!row || row.state !== 'booting') return;
    await this.setState(desktopId, row.user_id ? 'assigned' : 'ready', { booted_at: Date.now() });
  }

  private async fail(desktopId: string, reason: string): Promise<void> {
    this.log.warn({ desktop: desktopId, reason }, 'desktop failed');
    const row = await this.getDesktop(desktopId);
    if (!row || row.state === 'gone' || row.state === 'stopped' || row.state === 'failed') return;
    this.stopping.add(desktopId);
    await this.hypervisor.stop(desktopId).catch(() => undefined);
    this.stopping.delete(desktopId);
    await this.setState(desktopId, 'failed', { failure_reason: reason, pid: null, spice_port: null });
  }

  private async noticeExit(desktopId: string, reason: string): Promise<void> {
    if (this.stopping.has(desktopId)) return;
    const row = await this.getDesktop(desktopId).catch(() => undefined);
    if (!row || !RUNNING_STATES.includes(row.state)) return;
    this.log.warn({ desktop: desktopId, reason }, 'desktop VM exited');
    await this.setState(desktopId, 'failed', {
      failure_reason: `The desktop stopped unexpectedly (${reason}).`,
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
