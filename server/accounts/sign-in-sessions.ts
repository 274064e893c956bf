/**
 * Sign-in sessions: one database row per sign-in, named by a random id that travels inside the
 * (encrypted, signed) session cookie. A session ends when the person signs out, when its
 * lifetime is over (FLOE_SESSION_HOURS after sign-in, never extended) or when it was not used
 * for the idle timeout (FLOE_IDLE_MINUTES). Because the row is checked on every request, signing
 * out or disabling an account ends the session everywhere, on every portal replica, even for a
 * copied cookie. Only the sha256 of the id is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema';

export interface SessionPolicy {
  /** How long a sign-in lasts at most, from sign-in (default 12 hours). */
  lifetimeMs: number;
  /** A session not used for this long ends (default 60 minutes; 0 turns the idle timeout off). */
  idleMs: number;
  /** last_seen_at is written at most this often per session (default: a tenth of idleMs, at most 60 s). */
  touchEveryMs: number;
}

const SessionEnvSchema = z.object({
  FLOE_SESSION_HOURS: z.coerce.number().positive('must be a number of hours above 0').max(24 * 366).default(12),
  FLOE_IDLE_MINUTES: z.coerce.number().min(0, 'must be 0 (off) or more minutes').max(60 * 24 * 366).default(60),
});

/** Reads FLOE_SESSION_HOURS and FLOE_IDLE_MINUTES (fractions allowed); throws naming a bad one. */
export function sessionPolicyFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): SessionPolicy {
  const parsed = SessionEnvSchema.safeParse({
    FLOE_SESSION_HOURS: env.FLOE_SESSION_HOURS || undefined,
    FLOE_IDLE_MINUTES: env.FLOE_IDLE_MINUTES || undefined,
  });
  if (!parsed.success) {
    throw new Error(`Bad environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const lifetimeMs = parsed.data.FLOE_SESSION_HOURS * 3_600_000;
  const idleMs = parsed.data.FLOE_IDLE_MINUTES * 60_000;
  return { lifetimeMs, idleMs, touchEveryMs: idleMs > 0 ? Math.min(60_000, Math.floor(idleMs / 10)) : 60_000 };
}

export type SessionCheck =
  | { ok: true; userId: string; expiresAt: number }
  | { ok: false; reason: 'unknown' | 'ended' | 'expired' | 'idle' };

export interface NewSignInSession {
  userId: string;
  method: 'password' | 'oidc';
  clientAddress?: string | null;
  userAgent?: string | null;
}

/** The database key (sign_in_sessions.id) of the session id a cookie carries: its sha256. */
export const signInSessionKey = (id: string) => createHash('sha256').update(id).digest('hex');
const hashId = signInSessionKey;

export class SignInSessions {
  constructor(
    private readonly db: Kysely<Database>,
    readonly policy: SessionPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a session; returns the id to put in the session cookie (never stored as is). */
  async start(input: NewSignInSession): Promise<{ id: string; expiresAt: number }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = now + this.policy.lifetimeMs;
    await this.db
      .insertInto('sign_in_sessions')
      .values({
        id: hashId(id),
        user_id: input.userId,
        method: input.method,
        client_address: input.clientAddress?.slice(0, 100) ?? null,
        user_agent: input.userAgent?.slice(0, 300) ?? null,
        started_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
        ended_at: null,
        end_reason: null,
      })
      .execute();
    return { id, expiresAt };
  }

  /**
   * Checks a session id from a cookie and records that it was used. An expired or idle session
   * is ended in the database, so it cannot come back.
   */
  async check(id: unknown): Promise<SessionCheck> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) return { ok: false, reason: 'unknown' };
    const key = hashId(id);
    const row = await this.db.selectFrom('sign_in_sessions').selectAll().where('id', '=', key).executeTakeFirst();
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.ended_at !== null) return { ok: false, reason: 'ended' };
    const now = this.now();
    if (now >= row.expires_at) {
      await this.endRow(key, 'expired');
      return { ok: false, reason: 'expired' };
    }
    if (this.policy.idleMs > 0 && now - row.last_seen_at >= this.policy.idleMs) {
      await this.endRow(key, 'idle');
      return { ok: false, reason: 'idle' };
    }
    if (now - row.last_seen_at >= this.policy.touchEveryMs) {
      await this.db.updateTable('sign_in_sessions').set({ last_seen_at: now }).where('id', '=', key).where('ended_at', 'is', null).execute();
    }
    return { ok: true, userId: row.user_id, expiresAt: row.expires_at };
  }

  /**
   * Whether the session with database key `key` (not a cookie's id) is live for `userId`: for
   * consoles that carry no cookie (remote-viewer), whose ticket names the sign-in it came from.
   */
  async isLive(key: string, userId: string): Promise<boolean> {
    const row = await this.db.selectFrom('sign_in_sessions').selectAll().where('id', '=', key).executeTakeFirst();
    if (!row || row.user_id !== userId || row.ended_at !== null) return false;
    const now = this.now();
    return now < row.expires_at && !(this.policy.idleMs > 0 && now - row.last_seen_at >= this.policy.idleMs);
  }

  /** Ends one session (sign-out). Unknown or already ended ids are ignored. */
  async end(id: unknown, reason = 'signed out'): Promise<void> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) return;
    await this.endRow(hashId(id), reason);
  }

  /** Ends every open session of a user (account disabled, password changed); returns how many. */
  async endAllOf(userId: string, reason: string): Promise<number> {
    const result = await this.db
      .updateTable('sign_in_sessions')
      .set({ ended_at: this.now(), end_reason: reason })
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Deletes sessions that ended (or expired) more than `keepMs` ago (default 30 days). */
  async prune(keepMs = 30 * 86_400_000): Promise<void> {
    const before = this.now() - keepMs;
    await this.db
      .deleteFrom('sign_in_sessions')
      .where((eb) => eb.or([eb('ended_at', '<', before), eb('expires_at', '<', before)]))
      .execute();
  }

  private async endRow(key: string, reason: string): Promise<void> {
    await this.db
      .updateTable('sign_in_sessions')
      .set({ ended_at: this.now(), end_reason: reason })
      .where('id', '=', key)
      .where('ended_at', 'is', null)
      .execute();
  }
}
