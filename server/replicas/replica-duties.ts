/**
 * What each portal replica does to share one database with others, once a second:
 * - takes or keeps the reconcile lease (reconcile-lease.ts); the replica that newly holds it
 *   adopts the host's VMs (`broker.recover()`: the VMs are the host's, not a replica's), and
 *   only the holder runs the reconcile loop;
 * - writes its heartbeat in `replicas` (id, seen_at, holds_lease), which the admin's view and
 *   the tests read;
 * - as the holder, ends the open console records of replicas silent for REPLICA_SILENCE_MS
 *   (they died with their consoles; their records would otherwise hold desktops "in use") and
 *   adopts the desktops they were booting or driving (`desktops.driven_by`).
 * With one replica (SQLite) the lease is always held and this only keeps the heartbeat.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ConsoleSessions } from '../broker/console-sessions';
import type { Database } from '../db/schema';
import type { ReconcileLease } from './reconcile-lease';

/** A replica whose heartbeat is older than this is taken for dead: its consoles are ended. */
export const REPLICA_SILENCE_MS = 15_000;
/** How often the lease is tried and the heartbeat written. */
const TICK_MS = 1000;

export interface ReplicaDutiesOptions {
  db: Kysely<Database>;
  replicaId: string;
  lease: ReconcileLease;
  sessions: ConsoleSessions;
  /**
   * Adopts the host's running VMs and settles desktops whose VM vanished (broker.recover),
   * leaving alone the desktops driven by `liveReplicas` (other replicas with a fresh heartbeat).
   */
  recover: (liveReplicas: ReadonlySet<string>) => Promise<unknown>;
  /** Asks for a reconcile pass now (the new holder should not wait for the timer). */
  reconcileSoon?: () => void;
  log: Logger;
}

export class ReplicaDuties {
  private holding = false;
  private readonly startedAt = Date.now();

  constructor(private readonly options: ReplicaDutiesOptions) {}

  /** Whether this replica holds the reconcile lease and has adopted the VMs (reconcile may run). */
  holdsLease(): boolean {
    return this.holding;
  }

  /** One tick: lease, adoption on taking it, heartbeat, and (holder) the dead replicas' consoles. */
  async tick(): Promise<void> {
    const { db, replicaId, lease, log } = this.options;
    const held = await lease.tryHold();
    if (held && !this.holding) {
      // Adopt before reconciling: a spare the last holder booted is not booted again.
      try {
        await this.options.recover(await this.liveOthers());
      } catch (error) {
        log.warn({ err: messageOf(error) }, 'took the reconcile lease but could not adopt the VMs yet; will try again');
        await lease.release();
        return;
      }
      this.holding = true;
      log.info({ replica: replicaId }, 'this replica holds the reconcile lease now (spares, idle policy, VM recovery)');
      this.options.reconcileSoon?.();
    } else if (!held && this.holding) {
      this.holding = false;
      log.warn({ replica: replicaId }, 'this replica lost the reconcile lease; another replica reconciles now');
    }
    const now = Date.now();
    await db
      .insertInto('replicas')
      .values({ id: replicaId, started_at: this.startedAt, seen_at: now, holds_lease: this.holding ? 1 : 0 })
      .onConflict((oc) => oc.column('id').doUpdateSet({ started_at: this.startedAt, seen_at: now, holds_lease: this.holding ? 1 : 0 }))
      .execute();
    if (!this.holding) return;
    const silent = await db.selectFrom('replicas').select('id').where('seen_at', '<', now - REPLICA_SILENCE_MS).where('id', '!=', replicaId).execute();
    if (silent.length === 0) return;
    const silentIds = silent.map((r) => r.id);
    const ended = await this.options.sessions.endOpenRelayedBy(silentIds, 'floe-stopped');
    if (ended > 0) log.warn({ replicas: silentIds, consoles: ended }, 'ended the consoles of replicas that stopped answering');
    // Desktops a silent replica was booting, driving or stopping: adopted (or settled) here now.
    const orphaned = await db
      .selectFrom('desktops')
      .select('id')
      .where('driven_by', 'in', silentIds)
      .where('state', 'in', ['provisioning', 'booting', 'ready', 'assigned', 'stopping'])
      .limit(1)
      .execute();
    if (orphaned.length > 0) {
      log.warn({ replicas: silentIds }, 'adopting the desktops of replicas that stopped answering');
      await this.options.recover(await this.liveOthers());
    }
  }

  /** The other replicas whose heartbeat is fresh. */
  private async liveOthers(): Promise<ReadonlySet<string>> {
    const rows = await this.options.db
      .selectFrom('replicas')
      .select('id')
      .where('seen_at', '>=', Date.now() - REPLICA_SILENCE_MS)
      .where('id', '!=', this.options.replicaId)
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Ticks once a second until the returned function is called (which also lets the lease go). */
  start(): () => Promise<void> {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.tick()
        .catch((error: unknown) => this.options.log.error({ err: messageOf(error) }, 'replica tick failed'))
        .finally(() => (running = false));
    }, TICK_MS);
    timer.unref();
    return async () => {
      clearInterval(timer);
      this.holding = false;
      await this.options.lease.release();
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
