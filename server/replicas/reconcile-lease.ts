/**
 * The reconcile lease: only the replica holding it runs the reconcile loop (spares, idle
 * policy) and drives the host's VMs, so two portal replicas never boot the same spare twice.
 *
 * On PostgreSQL it is a session-level advisory lock held on one connection of its own (named
 * `floe-reconcile-lease:<replica>` in pg_stat_activity). When the holder dies, its connection
 * closes and PostgreSQL frees the lock at once; when the holder's machine vanishes without a
 * word, `idle_session_timeout` (set on that connection, pinged every tick) ends the session
 * within LEASE_SILENCE_MS. On SQLite a single replica is assumed (the database is a file of
 * one machine) and the lease is always held.
 */
import pg from 'pg';

/** How long a silent lease connection may stay idle before PostgreSQL ends it (freeing the lock). */
export const LEASE_SILENCE_MS = 6000;
/** The advisory lock's key: any fixed number, the same in every replica. */
const LEASE_KEY = 0x466c6f65; // "Floe"

export interface ReconcileLease {
  /** Takes or keeps the lease; false when another replica holds it or the database is away. */
  tryHold(): Promise<boolean>;
  /** Lets the lease go (closes its connection). */
  release(): Promise<void>;
}

/** The lease for this engine: an advisory lock on PostgreSQL, always held on SQLite. */
export function reconcileLease(engine: 'sqlite' | 'postgres', databaseUrl: string | undefined, replicaId: string): ReconcileLease {
  if (engine === 'sqlite' || !databaseUrl) return { tryHold: async () => true, release: async () => undefined };
  return new AdvisoryLockLease(databaseUrl, replicaId);
}

class AdvisoryLockLease implements ReconcileLease {
  private client: pg.Client | undefined;
  private held = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly replicaId: string,
  ) {}

  async tryHold(): Promise<boolean> {
    try {
      const client = await this.connection();
      if (this.held) {
        // The lock lives as long as this session: a round trip proves both still stand.
        await client.query('select 1');
        return true;
      }
      const result = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [LEASE_KEY]);
      this.held = result.rows[0]?.locked === true;
      return this.held;
    } catch {
      this.drop();
      return false;
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.drop();
    await client?.end().catch(() => undefined);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: `floe-reconcile-lease:${this.replicaId}`.slice(0, 63),
      connectionTimeoutMillis: 3000,
      keepAlive: true,
    });
    // A lost connection loses the lock with it: the next tick starts over.
    client.on('error', () => {
      if (this.client === client) this.drop();
    });
    this.client = client;
    try {
      await client.connect();
      // PostgreSQL 14 and later; older servers notice a vanished holder by TCP keepalive only.
      await client.query(`set idle_session_timeout = ${LEASE_SILENCE_MS}`).catch(() => undefined);
    } catch (error) {
      this.drop();
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    if (client) void client.end().catch(() => undefined);
  }
}
