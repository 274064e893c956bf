/**
 * Who is signed in on a console WebSocket upgrade, for server/main.ts: the browser sends its
 * session cookie with the upgrade (same origin), so the relay can refuse a ticket presented
 * without a live sign-in session of the ticket's own user (a leaked ticket alone opens nothing,
 * and a session ended by sign-out, lifetime, idle timeout or a disabled account cannot start a
 * console), nor one presented by another signed-in person (403). The cookie is next-auth's
 * encrypted JWT; its sign-in session is checked in the database like on every page. Call it
 * before the ticket check, which claims the ticket.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Kysely } from 'kysely';
import { decode } from 'next-auth/jwt';
import type { Database, Role } from '../db/schema';
import { signInServices } from './services';

export const SESSION_COOKIE_NAMES = ['__Secure-next-auth.session-token', 'next-auth.session-token'] as const;

/** The cookies of a request header, by name (first one wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (cookies.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Keep it as sent.
    }
    cookies.set(name, value);
  }
  return cookies;
}

/** The session token from the cookies (next-auth splits a long one into NAME.0, NAME.1, …). */
export function sessionTokenOf(cookies: Map<string, string>): string | undefined {
  for (const name of SESSION_COOKIE_NAMES) {
    const whole = cookies.get(name);
    if (whole) return whole;
    const chunks: string[] = [];
    for (let i = 0; cookies.has(`${name}.${i}`); i++) chunks.push(cookies.get(`${name}.${i}`)!);
    if (chunks.length > 0) return chunks.join('');
  }
  return undefined;
}

export type ConsoleAccess =
  | { ok: true; userId: string; name: string; role: Role }
  | { ok: false; status: 401 | 403; reason: string };

/**
 * Checks the sign-in behind a console upgrade, and that the ticket in its URL (if the database
 * knows it) was issued to that same person. `secret` is NEXTAUTH_SECRET (default: the
 * environment's, which server/main.ts sets before Next starts).
 */
export async function consoleAccess(
  req: IncomingMessage,
  db: Kysely<Database>,
  secret: string | undefined = process.env.NEXTAUTH_SECRET,
): Promise<ConsoleAccess> {
  const token = sessionTokenOf(parseCookies(req.headers.cookie));
  if (!token || !secret) return { ok: false, status: 401, reason: 'not signed in' };
  const claims = await decode({ token, secret }).catch(() => null);
  if (!claims || typeof claims.uid !== 'string') return { ok: false, status: 401, reason: 'not signed in' };
  const check = await signInServices(db).sessions.check(claims.sid);
  if (!check.ok || check.userId !== claims.uid) return { ok: false, status: 401, reason: 'sign-in session ended' };
  const user = await db.selectFrom('users').select(['id', 'name', 'role', 'disabled']).where('id', '=', check.userId).executeTakeFirst();
  if (!user || user.disabled) return { ok: false, status: 401, reason: 'account disabled' };
  // The ticket must be this person's: looked at without claiming it (the ticket check claims it).
  const ticket = new URL(req.url ?? '/', 'http://floe.invalid').searchParams.get('ticket');
  if (ticket) {
    const id = createHash('sha256').update(ticket).digest('hex');
    const row = await db.selectFrom('console_tickets').select('user_id').where('id', '=', id).executeTakeFirst();
    if (row && row.user_id !== user.id) return { ok: false, status: 403, reason: 'console ticket belongs to another user' };
  }
  return { ok: true, userId: user.id, name: user.name, role: user.role };
}
