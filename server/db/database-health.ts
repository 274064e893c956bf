/**
 * Is the database there? A small write (one settings row) once a second, with a timeout, tells
 * a stopped PostgreSQL and a read-only SQLite file alike. While it fails, the server answers
 * requests 503 (consoles already open go on: the relay needs no database per chunk) and the
 * reconcile loop pauses instead of deciding anything; when the write works again, everything
 * resumes by itself. Transitions are logged once each way.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from './schema';

/** What a person sees while the database is away. */
export const DATABASE_AWAY_MESSAGE = 'Floe cannot reach its database; your desktop keeps running. Try again in a minute.';

const PROBE_KEY = 'floe:health-probe';

export class DatabaseHealth {
  private available = true;
  private since = Date.now();
  private problem: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly options: { intervalMs?: number; timeoutMs?: number } = {},
  ) {}

  /** True unless the last probe failed. */
  up(): boolean {
    return this.available;
  }

  /** Why the database is taken to be away, and since when (epoch ms); undefined while it is up. */
  away(): { problem: string; since: number } | undefined {
    return this.available ? undefined : { problem: this.problem ?? 'unknown', since: this.since };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One probe now; resolves to whether the database took the write. */
  async probe(): Promise<boolean> {
    if (this.probing) return this.available;
    this.probing = true;
    const timeoutMs = this.options.timeoutMs ?? 3000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = String(Date.now());
      await Promise.race([
        this.db
          .insertInto('settings')
          .values({ key: PROBE_KEY, value })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
          .execute(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.set(true);
    } catch (error) {
      this.set(false, error instanceof Error ? error.message : String(error));
    } finally {
      if (timer) clearTimeout(timer);
      this.probing = false;
    }
    return this.available;
  }

  private set(available: boolean, problem?: string): void {
    if (available === this.available) return;
    const downFor = Date.now() - this.since;
    this.available = available;
    this.since = Date.now();
    this.problem = problem;
    if (available) this.log.warn({ awayMs: downFor }, 'the database is back; resuming');
    else this.log.error({ problem }, 'the database is away: refusing requests with 503, reconcile paused, consoles stay up');
  }
}
