/**
 * The audit log for the admin's audit page and its CSV export: entries filtered by who (actor),
 * action, target (any part, any case) and a time range, newest first, a page at a time; the
 * actions that occur (for the filter's list); and the same entries as CSV (RFC 4180, with cells
 * that a spreadsheet would run as a formula made inert). Times in the filters are UTC.
 * Callers check the admin role first (lib/auth.ts).
 */
import 'server-only';
import { sql } from 'kysely';
import { z } from 'zod';
import { getRuntime } from '@/server/runtime-registry';

export const AUDIT_PAGE_SIZE = 50;
/** The most rows one CSV export carries. */
export const AUDIT_EXPORT_LIMIT = 100_000;

/** "2026-11-30T10:15" or "2026-11-30" (UTC) or an ISO time → epoch ms; anything else is dropped. */
const TimeSchema = z
  .string()
  .trim()
  .max(40)
  .transform((value, ctx) => {
    if (!value) return undefined;
    const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(value) ? `${value}${value.length === 10 ? 'T00:00' : ''}Z` : value;
    const at = Date.parse(iso);
    if (Number.isNaN(at)) {
      ctx.addIssue({ code: 'custom', message: 'not a time' });
      return z.NEVER;
    }
    return at;
  });

const TextSchema = z.string().trim().max(200).transform((v) => v || undefined);

export const AuditFilterSchema = z.object({
  who: TextSchema.optional(),
  action: TextSchema.optional(),
  target: TextSchema.optional(),
  from: TimeSchema.optional(),
  to: TimeSchema.optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).optional(),
});
export type AuditFilter = z.infer<typeof AuditFilterSchema>;

/** The filters from URL search params; a bad value is dropped (and named in `ignored`), not refused. */
export function auditFilterFromParams(params: URLSearchParams | Record<string, string | string[] | undefined>): {
  filter: AuditFilter;
  ignored: string[];
} {
  const filter: AuditFilter = {};
  const ignored: string[] = [];
  for (const key of ['who', 'action', 'target', 'from', 'to', 'page'] as const) {
    const raw = params instanceof URLSearchParams ? params.get(key) : params[key];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === null || value === '') continue;
    const one = AuditFilterSchema.shape[key].safeParse(value);
    if (one.success) {
      if (one.data !== undefined) Object.assign(filter, { [key]: one.data });
    } else ignored.push(key);
  }
  return { filter, ignored };
}

export interface AuditEntryView {
  id: number;
  at: number;
  actor: string | null;
  action: string;
  target: string | null;
  detail: string | null;
}

function escapeLike(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function filtered(filter: AuditFilter) {
  let query = getRuntime().database.db.selectFrom('audit_log');
  if (filter.who) query = query.where(sql<boolean>`lower(coalesce(actor, '')) like ${escapeLike(filter.who)} escape '\\'`);
  if (filter.action) query = query.where('action', '=', filter.action);
  if (filter.target) query = query.where(sql<boolean>`lower(coalesce(target, '')) like ${escapeLike(filter.target)} escape '\\'`);
  if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
  // "to" is inclusive of its whole minute (or day, for a date).
  if (filter.to !== undefined) query = query.where('at', '<', filter.to + 60_000);
  return query;
}

/** One page (50) of entries, newest first; a page past the end gives the last page. */
export async function auditPage(filter: AuditFilter): Promise<{ entries: AuditEntryView[]; total: number; page: number; pages: number }> {
  const { count } = await filtered(filter)
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  const total = Number(count);
  const pages = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
  const page = Math.min(filter.page ?? 1, pages);
  const rows = await filtered(filter)
    .selectAll()
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(AUDIT_PAGE_SIZE)
    .offset((page - 1) * AUDIT_PAGE_SIZE)
    .execute();
  return { entries: rows.map((r) => ({ ...r, at: Number(r.at) })), total, page, pages };
}

/** The actions that occur in the log, for the filter's choices. */
export async function auditActions(): Promise<string[]> {
  const rows = await getRuntime().database.db.selectFrom('audit_log').select('action').distinct().orderBy('action').execute();
  return rows.map((r) => r.action);
}

/** One CSV cell: quoted when needed; a leading = + - @ (a spreadsheet formula) gets a ' first. */
export function csvCell(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The entries matching `filter` (page ignored, newest first, at most 100,000) as CSV text. */
export async function auditCsv(filter: AuditFilter): Promise<string> {
  const rows = await filtered(filter).selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(AUDIT_EXPORT_LIMIT).execute();
  const lines = [['id', 'time (UTC)', 'who', 'action', 'target', 'detail'].join(',')];
  for (const r of rows) {
    lines.push([r.id, new Date(Number(r.at)).toISOString(), r.actor, r.action, r.target, r.detail].map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
