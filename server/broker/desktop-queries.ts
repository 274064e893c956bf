/**
 * Read-only questions the helpdesk and admin pages ask about desktops and console sessions:
 * one page of desktops with filters (pool, state, person) joined to their owners, the consoles
 * open on a person's desktops, and their recent console history. Pure queries on the database
 * (no broker state), so any portal replica can answer them and tests run them on a fresh
 * database. Pages of desktops are cut on the server: a pool of 1,000 desktops costs one page.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, Desktop, DesktopState } from '../db/schema';

/** Every state a desktop row can be in, in the order people think of them. */
export const DESKTOP_STATES: readonly DesktopState[] = ['provisioning', 'booting', 'ready', 'assigned', 'stopping', 'stopped', 'failed', 'gone'];

export interface DesktopListFilter {
  /** Only this pool's desktops. */
  pool?: string;
  /** Only desktops in this state; without it every desktop that is not gone. */
  state?: DesktopState;
  /**
   * Only desktops whose owner's name or display name contains this text (any case); the word
   * "spare" (or "-") lists desktops nobody owns.
   */
  user?: string;
  /** 1-based; a page past the end gives the last page. Default 1. */
  page?: number;
  /** Default 50, at most 200. */
  pageSize?: number;
}

export interface DesktopListRow extends Desktop {
  user_name: string | null;
  user_display_name: string | null;
}

export interface DesktopPage {
  rows: DesktopListRow[];
  /** Desktops matching the filter, on every page. */
  total: number;
  page: number;
  pageSize: number;
  pages: number;
}

export const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

/** `text` for a LIKE pattern that matches it anywhere, with % _ and \ taken literally. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * One page of desktops, newest first (id breaks ties so pages never overlap), each with its
 * owner's name. Default: page 1 of 50, every state but `gone`.
 */
export async function listDesktops(db: Kysely<Database>, filter: DesktopListFilter = {}): Promise<DesktopPage> {
  const pageSize = Math.min(Math.max(1, Math.floor(filter.pageSize ?? DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE);
  const user = filter.user?.trim();
  const base = () => {
    let query = db.selectFrom('desktops as d').leftJoin('users as u', 'u.id', 'd.user_id');
    query = filter.state ? query.where('d.state', '=', filter.state) : query.where('d.state', '!=', 'gone');
    if (filter.pool) query = query.where('d.pool_name', '=', filter.pool);
    if (user === 'spare' || user === '-') query = query.where('d.user_id', 'is', null);
    else if (user) {
      const pattern = containsPattern(user);
      query = query.where((eb) =>
        eb.or([
          eb(sql`lower(u.name)`, 'like', sql`${pattern} escape '\\'`),
          eb(sql`lower(u.display_name)`, 'like', sql`${pattern} escape '\\'`),
        ]),
      );
    }
    return query;
  };
  const counted = await base()
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  const total = Number(counted.count);
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const page = Math.min(Math.max(1, Math.floor(filter.page ?? 1)), pages);
  const rows = await base()
    .selectAll('d')
    .select(['u.name as user_name', 'u.display_name as user_display_name'])
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .execute();
  return { rows, total, page, pageSize, pages };
}

export interface ConsoleSessionRow {
  id: string;
  desktop_id: string;
  pool_name: string;
  /** Who has (had) the console: the owner, or a helpdesk person who opened it. */
  user_id: string;
  user_name: string | null;
  user_display_name: string | null;
  user_role: string | null;
  client_address: string | null;
  user_agent: string | null;
  started_at: number;
  ended_at: number | null;
  bytes_to_desktop: number;
  bytes_to_browser: number;
  end_reason: string | null;
  taken_over_by: string | null;
}

function sessionsOnDesktopsOf(db: Kysely<Database>, userId: string) {
  return db
    .selectFrom('console_sessions as c')
    .innerJoin('desktops as d', 'd.id', 'c.desktop_id')
    .leftJoin('users as u', 'u.id', 'c.user_id')
    .select([
      'c.id',
      'c.desktop_id',
      'd.pool_name',
      'c.user_id',
      'u.name as user_name',
      'u.display_name as user_display_name',
      'u.role as user_role',
      'c.client_address',
      'c.user_agent',
      'c.started_at',
      'c.ended_at',
      'c.bytes_to_desktop',
      'c.bytes_to_browser',
      'c.end_reason',
      'c.taken_over_by',
    ])
    .where((eb) => eb.or([eb('d.user_id', '=', userId), eb('c.user_id', '=', userId)]));
}

/** Consoles open now on the person's desktops (theirs or a helpdesk person's), oldest first. */
export async function liveSessionsOfUser(db: Kysely<Database>, userId: string): Promise<ConsoleSessionRow[]> {
  const rows = await sessionsOnDesktopsOf(db, userId).where('c.ended_at', 'is', null).orderBy('c.started_at').execute();
  return rows.map(numbers);
}

/** The person's console sessions that have ended, newest first (default the last 20). */
export async function recentSessionsOfUser(db: Kysely<Database>, userId: string, limit = 20): Promise<ConsoleSessionRow[]> {
  const rows = await sessionsOnDesktopsOf(db, userId)
    .where('c.ended_at', 'is not', null)
    .orderBy('c.started_at', 'desc')
    .orderBy('c.id')
    .limit(limit)
    .execute();
  return rows.map(numbers);
}

/** One console session with its desktop's owner (for the helpdesk's disconnect). */
export async function consoleSessionWithOwner(
  db: Kysely<Database>,
  sessionId: string,
): Promise<{ id: string; desktop_id: string; ended_at: number | null; owner_id: string | null } | undefined> {
  return db
    .selectFrom('console_sessions as c')
    .leftJoin('desktops as d', 'd.id', 'c.desktop_id')
    .select(['c.id', 'c.desktop_id', 'c.ended_at', 'd.user_id as owner_id'])
    .where('c.id', '=', sessionId)
    .executeTakeFirst();
}

// PostgreSQL answers BIGINT columns as numbers already (see database.ts); SQLite too. This
// only guards the byte counters, which are summed by JavaScript callers.
function numbers(row: ConsoleSessionRow): ConsoleSessionRow {
  return { ...row, bytes_to_desktop: Number(row.bytes_to_desktop), bytes_to_browser: Number(row.bytes_to_browser) };
}
