/**
 * People as the helpdesk looks for them: a search by user name or display name (any case, any
 * part of it), each person with how many desktops they have and how many consoles are open on
 * them right now; and one person by their user name. Read-only queries on the database.
 */
import { type Kysely, sql } from 'kysely';
import { containsPattern } from '../broker/desktop-queries';
import type { Database, Role } from '../db/schema';

export interface PersonSummary {
  id: string;
  name: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  /** Desktops they have that still exist (not gone). */
  desktops: number;
  /** Consoles open now on their desktops. */
  liveConsoles: number;
}

/**
 * People whose name or display name contains `text` (any case), exact name matches first, then
 * by name; at most `limit` (default 25). An empty text finds nobody.
 */
export async function searchPeople(db: Kysely<Database>, text: string, limit = 25): Promise<PersonSummary[]> {
  const wanted = text.trim();
  if (!wanted) return [];
  const pattern = containsPattern(wanted);
  const rows = await db
    .selectFrom('users as u')
    .select((eb) => [
      'u.id',
      'u.name',
      'u.display_name',
      'u.role',
      'u.disabled',
      eb
        .selectFrom('desktops as d')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('d.user_id', '=', 'u.id')
        .where('d.state', '!=', 'gone')
        .as('desktops'),
      eb
        .selectFrom('console_sessions as c')
        .innerJoin('desktops as d2', 'd2.id', 'c.desktop_id')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('d2.user_id', '=', 'u.id')
        .where('c.ended_at', 'is', null)
        .as('live_consoles'),
    ])
    .where((eb) =>
      eb.or([
        eb(sql`lower(u.name)`, 'like', sql`${pattern} escape '\\'`),
        eb(sql`lower(u.display_name)`, 'like', sql`${pattern} escape '\\'`),
      ]),
    )
    .orderBy(sql`case when lower(u.name) = ${wanted.toLowerCase()} then 0 else 1 end`)
    .orderBy('u.name')
    .limit(Math.max(1, Math.min(limit, 200)))
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    displayName: r.display_name,
    role: r.role,
    disabled: Boolean(r.disabled),
    desktops: Number(r.desktops ?? 0),
    liveConsoles: Number(r.live_consoles ?? 0),
  }));
}

/** The person with this exact user name, or undefined. */
export async function personByName(
  db: Kysely<Database>,
  name: string,
): Promise<{ id: string; name: string; displayName: string; role: Role; disabled: boolean } | undefined> {
  const row = await db.selectFrom('users').select(['id', 'name', 'display_name', 'role', 'disabled']).where('name', '=', name).executeTakeFirst();
  return row && { id: row.id, name: row.name, displayName: row.display_name, role: row.role, disabled: Boolean(row.disabled) };
}
