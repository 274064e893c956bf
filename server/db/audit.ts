/**
 * The audit log: who did what to which target, and when. Sign-ins, console opens and power
 * actions are recorded here; the admin pages read it.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema';

export interface AuditEntry {
  actor: string | null;
  action: string;
  target?: string | null;
  detail?: string | Record<string, unknown> | null;
}

export async function recordAudit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  const detail = entry.detail == null ? null : typeof entry.detail === 'string' ? entry.detail : JSON.stringify(entry.detail);
  await db
    .insertInto('audit_log')
    .values({ at: Date.now(), actor: entry.actor, action: entry.action, target: entry.target ?? null, detail })
    .execute();
}

/** The newest entry of `action` by `actor` on `target` since `since` (ms), or undefined. */
export async function latestAudit(
  db: Kysely<Database>,
  query: { actor: string; action: string; target: string; since: number },
): Promise<{ at: number; detail: string | null } | undefined> {
  return db
    .selectFrom('audit_log')
    .select(['at', 'detail'])
    .where('actor', '=', query.actor)
    .where('action', '=', query.action)
    .where('target', '=', query.target)
    .where('at', '>=', query.since)
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
