/**
 * Sign-in throttling, counted in the database so it holds across restarts and portal replicas.
 * Failed sign-ins are counted per account and per client address within a window (15 minutes).
 * The first few failures are free; after that each attempt must wait a little longer (slow
 * down), and at the limit the account or address is locked for a while (15 minutes). Attempts
 * refused because of a wait or a lock are not counted and never reach the password check.
 *
 * Every attempt is reserved atomically (one upsert) before the password is checked, so a burst
 * of parallel attempts cannot get more password checks than the limit allows.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema';

export interface ThrottleRule {
  /** Failures allowed before the lock; the failure that reaches it locks (default 5 per account, 30 per address). */
  maxFailures: number;
  /** Failures with no wait after them (default 2 per account, 10 per address). */
  freeFailures: number;
  /** First wait after the free failures, doubled for each further failure (default 2 s). */
  baseDelayMs: number;
  /** Longest wait (default 30 s). */
  maxDelayMs: number;
  /** Failures older than this are forgotten (default 15 min). */
  windowMs: number;
  /** How long a lock lasts (default 15 min). */
  lockMs: number;
}

export interface ThrottlePolicy {
  account: ThrottleRule;
  address: ThrottleRule;
}

const MINUTE = 60_000;

export const DEFAULT_THROTTLE_POLICY: ThrottlePolicy = {
  account: { maxFailures: 5, freeFailures: 2, baseDelayMs: 2000, maxDelayMs: 30_000, windowMs: 15 * MINUTE, lockMs: 15 * MINUTE },
  address: { maxFailures: 30, freeFailures: 10, baseDelayMs: 2000, maxDelayMs: 30_000, windowMs: 15 * MINUTE, lockMs: 15 * MINUTE },
};

/** Reads FLOE_SIGN_IN_MAX_FAILURES (per account) and FLOE_SIGN_IN_LOCK_MINUTES over the defaults. */
export function throttlePolicyFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ThrottlePolicy {
  const policy = structuredClone(DEFAULT_THROTTLE_POLICY);
  const maxFailures = env.FLOE_SIGN_IN_MAX_FAILURES ? Number(env.FLOE_SIGN_IN_MAX_FAILURES) : undefined;
  if (maxFailures !== undefined) {
    if (!Number.isInteger(maxFailures) || maxFailures < 1 || maxFailures > 1000) {
      throw new Error('Bad environment: FLOE_SIGN_IN_MAX_FAILURES must be a whole number from 1 to 1000');
    }
    policy.account.maxFailures = maxFailures;
    policy.account.freeFailures = Math.min(policy.account.freeFailures, maxFailures - 1);
  }
  const lockMinutes = env.FLOE_SIGN_IN_LOCK_MINUTES ? Number(env.FLOE_SIGN_IN_LOCK_MINUTES) : undefined;
  if (lockMinutes !== undefined) {
    if (!Number.isFinite(lockMinutes) || lockMinutes <= 0 || lockMinutes > 24 * 60) {
      throw new Error('Bad environment: FLOE_SIGN_IN_LOCK_MINUTES must be a number of minutes above 0 (at most 1440)');
    }
    policy.account.lockMs = policy.address.lockMs = lockMinutes * MINUTE;
  }
  return policy;
}

export type ThrottleKind = 'account' | 'address';

export interface ThrottleRefusal {
  kind: ThrottleKind;
  /** 'wait': slow down; 'locked': locked for a while. */
  reason: 'wait' | 'locked';
  retryAfterMs: number;
  /** Words for the sign-in form. */
  message: string;
}

/** One attempt in progress: report how it ended. */
export interface ThrottledAttempt {
  /** The password was right: the account's failures are forgotten, the address's reservation is returned. */
  succeeded(): Promise<void>;
  /** The password was wrong: returns the lock or wait this failure caused, if any. */
  failed(): Promise<ThrottleRefusal | undefined>;
}

export type ThrottleBegin = { ok: true; attempt: ThrottledAttempt } | { ok: false; refusal: ThrottleRefusal };

interface Reservation {
  key: string;
  kind: ThrottleKind;
  rule: ThrottleRule;
  failures: number;
  notBefore: number | null;
  lockedUntil: number | null;
}

/** The throttle's key for an account name (case-folded: "Alice" and "alice" count together). */
export const accountKey = (name: string) => `account:${name.trim().toLowerCase().slice(0, 256)}`;
export const addressKey = (address: string) => `address:${address.slice(0, 100)}`;

export function refusalMessage(kind: ThrottleKind, reason: 'wait' | 'locked', retryAfterMs: number): string {
  if (reason === 'wait') {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return `Too many failed sign-ins. Please wait ${seconds} ${seconds === 1 ? 'second' : 'seconds'} and try again.`;
  }
  const minutes = Math.max(1, Math.ceil(retryAfterMs / MINUTE));
  const when = `${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
  return kind === 'account'
    ? `Too many failed sign-ins for this account. Try again in ${when}.`
    : `Too many failed sign-ins from your network address. Try again in ${when}.`;
}

export class SignInThrottle {
  private lastPrune = 0;

  constructor(
    private readonly db: Kysely<Database>,
    readonly policy: ThrottlePolicy = DEFAULT_THROTTLE_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reserves an attempt for the account `name` from `address` (either may be omitted). Refuses
   * when a lock or a wait is in force, or when parallel attempts already used up the limit.
   */
  async begin(input: { name?: string; address?: string | null }): Promise<ThrottleBegin> {
    await this.pruneNow();
    const wanted: { key: string; kind: ThrottleKind; rule: ThrottleRule }[] = [];
    if (input.name) wanted.push({ key: accountKey(input.name), kind: 'account', rule: this.policy.account });
    if (input.address) wanted.push({ key: addressKey(input.address), kind: 'address', rule: this.policy.address });
    const reservations: Reservation[] = [];
    for (const w of wanted) reservations.push(await this.reserve(w.key, w.kind, w.rule));

    const now = this.now();
    let refusal: ThrottleRefusal | undefined;
    for (const r of reservations) {
      let found: ThrottleRefusal | undefined;
      if (r.lockedUntil !== null && r.lockedUntil > now) {
        found = this.refusal(r.kind, 'locked', r.lockedUntil - now);
      } else if (r.failures > r.rule.maxFailures) {
        // Parallel attempts used up the limit before this one: lock now.
        const until = await this.lock(r.key, now + r.rule.lockMs);
        found = this.refusal(r.kind, 'locked', until - now);
      } else if (r.notBefore !== null && r.notBefore > now) {
        found = this.refusal(r.kind, 'wait', r.notBefore - now);
      }
      // An account lock says more than an address lock, a lock more than a wait.
      if (found && (!refusal || rank(found) > rank(refusal))) refusal = found;
    }
    if (refusal) {
      for (const r of reservations) await this.release(r.key);
      return { ok: false, refusal };
    }

    let settled = false;
    const settle = () => {
      if (settled) throw new Error('a throttled attempt is reported once');
      settled = true;
    };
    return {
      ok: true,
      attempt: {
        succeeded: async () => {
          settle();
          for (const r of reservations) {
            if (r.kind === 'account') await this.db.deleteFrom('sign_in_throttle').where('key', '=', r.key).execute();
            else await this.release(r.key);
          }
        },
        failed: async () => {
          settle();
          const at = this.now();
          let caused: ThrottleRefusal | undefined;
          for (const r of reservations) {
            let found: ThrottleRefusal | undefined;
            if (r.failures >= r.rule.maxFailures) {
              const until = await this.lock(r.key, at + r.rule.lockMs);
              found = this.refusal(r.kind, 'locked', until - at);
            } else if (r.failures > r.rule.freeFailures) {
              const delay = Math.min(r.rule.maxDelayMs, r.rule.baseDelayMs * 2 ** (r.failures - r.rule.freeFailures - 1));
              await this.db.updateTable('sign_in_throttle').set({ not_before: at + delay, updated_at: at }).where('key', '=', r.key).execute();
              found = this.refusal(r.kind, 'wait', delay);
            }
            if (found && (!caused || rank(found) > rank(caused))) caused = found;
          }
          return caused;
        },
      },
    };
  }

  /** Forgets an account's failures and lock (the `npm run user -- unlock` command). */
  async unlockAccount(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('sign_in_throttle').where('key', '=', accountKey(name)).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The lock in force on an account, if any (for the CLI's list). */
  async accountLockedUntil(name: string): Promise<number | null> {
    const row = await this.db.selectFrom('sign_in_throttle').select('locked_until').where('key', '=', accountKey(name)).executeTakeFirst();
    return row?.locked_until != null && row.locked_until > this.now() ? row.locked_until : null;
  }

  private refusal(kind: ThrottleKind, reason: 'wait' | 'locked', retryAfterMs: number): ThrottleRefusal {
    return { kind, reason, retryAfterMs, message: refusalMessage(kind, reason, retryAfterMs) };
  }

  /** Counts one attempt for `key` (starting afresh when the window or the lock is over); returns the row after. */
  private async reserve(key: string, kind: ThrottleKind, rule: ThrottleRule): Promise<Reservation> {
    const now = this.now();
    const t = sql.table('sign_in_throttle');
    const stale = sql<boolean>`((${t}.locked_until is not null and ${t}.locked_until <= ${now})
      or (${t}.locked_until is null and ${t}.window_started_at <= ${now - rule.windowMs}))`;
    const row = await this.db
      .insertInto('sign_in_throttle')
      .values({ key, failures: 1, window_started_at: now, not_before: null, locked_until: null, updated_at: now })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql<number>`case when ${stale} then 1 else ${t}.failures + 1 end`,
          window_started_at: sql<number>`case when ${stale} then ${now} else ${t}.window_started_at end`,
          not_before: sql<number | null>`case when ${stale} then null else ${t}.not_before end`,
          locked_until: sql<number | null>`case when ${stale} then null else ${t}.locked_until end`,
          updated_at: now,
        }),
      )
      .returning(['failures', 'not_before', 'locked_until'])
      .executeTakeFirstOrThrow();
    return {
      key,
      kind,
      rule,
      failures: Number(row.failures),
      notBefore: row.not_before === null ? null : Number(row.not_before),
      lockedUntil: row.locked_until === null ? null : Number(row.locked_until),
    };
  }

  /** Gives back a reservation that was not a failure. */
  private async release(key: string): Promise<void> {
    await this.db
      .updateTable('sign_in_throttle')
      .set({ failures: sql<number>`failures - 1` })
      .where('key', '=', key)
      .where('failures', '>', 0)
      .execute();
  }

  /** Locks `key` until `until` unless a lock is already in force; returns the lock's end. */
  private async lock(key: string, until: number): Promise<number> {
    const now = this.now();
    await this.db
      .updateTable('sign_in_throttle')
      .set({ locked_until: until, not_before: null, updated_at: now })
      .where('key', '=', key)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .execute();
    const row = await this.db.selectFrom('sign_in_throttle').select('locked_until').where('key', '=', key).executeTakeFirst();
    return row?.locked_until != null ? Number(row.locked_until) : until;
  }

  /** Deletes rows nobody touched for longer than a window plus a lock (Floe's prune schedule). */
  async prune(): Promise<void> {
    this.lastPrune = 0;
    await this.pruneNow();
  }

  /** Deletes rows nobody touched for longer than a window plus a lock, at most once a minute. */
  private async pruneNow(): Promise<void> {
    const now = this.now();
    if (now - this.lastPrune < MINUTE) return;
    this.lastPrune = now;
    const keep = Math.max(
      this.policy.account.windowMs + this.policy.account.lockMs,
      this.policy.address.windowMs + this.policy.address.lockMs,
    );
    await this.db.deleteFrom('sign_in_throttle').where('updated_at', '<', now - keep).execute();
  }
}

const rank = (r: ThrottleRefusal) => (r.reason === 'locked' ? 2 : 0) + (r.kind === 'account' ? 1 : 0);
