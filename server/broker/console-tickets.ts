/**
 * Console tickets: short-lived proof that one signed-in user may open one desktop's console from
 * the portal's own origin. A ticket is 30 random bytes; only its sha256 is stored (in the
 * database, so any portal replica can check it). It starts ONE console session: the console
 * gate (server/consoles) claims it for the first connection and refuses it to every other one
 * but that session's own channels. Each ticket also sets a fresh SPICE password on the desktop,
 * valid just long enough for the channels to log in. Issuance is limited per person.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import type { Hypervisor } from '../hypervisor/types';
import { DesktopNotFoundError, DesktopNotReadyError, TooManyTicketsError } from './errors';

/** The origin tickets for native clients (remote-viewer through the SPICE proxy) are bound to. */
export const REMOTE_VIEWER_ORIGIN = 'remote-viewer';

/** How long a ticket (and its SPICE password) may be used to open channels. */
export const TICKET_LIFETIME_SECONDS = 60;

export interface ConsoleTicket {
  ticket: string;
  /** The console session this ticket will start (its record's id). */
  sessionId: string;
  /** SPICE password for this console session. */
  password: string;
  expiresAt: number;
}

/** What a presented ticket allows, looked at without using it up. */
export type TicketInspection =
  | {
      ok: true;
      /** The ticket's id (its sha256): the console session it starts is recorded under it. */
      id: string;
      userId: string;
      desktopId: string;
      host: string;
      port: number;
      /** The sign-in the ticket was issued under, whose end closes the console. */
      signInSessionId: string | null;
      /** A first connection already used the ticket to start its session. */
      claimed: boolean;
    }
  | { ok: false; status: 401 | 403 | 404; reason: string };

/** How many tickets one person may be issued per minute (each rotates the desktop's SPICE password). */
export const TICKETS_PER_MINUTE = 20;

const hashTicket = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

export class ConsoleTickets {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly hypervisor: Hypervisor,
    private readonly options: { ticketsPerMinute?: number } = {},
  ) {}

  /**
   * Issues a ticket for `userId` to open the console of `desktopId`, which must be running and
   * theirs; with `onBehalf` (the caller checked the staff member's rights) it may be someone
   * else's. More than TICKETS_PER_MINUTE in a minute are refused (TooManyTicketsError, 429).
   */
  async issue(input: {
    userId: string;
    desktopId: string;
    origin: string;
    signInSessionId?: string;
    onBehalf?: boolean;
  }): Promise<ConsoleTicket> {
    const desktop = await this.db
      .selectFrom('desktops')
      .select(['state', 'user_id'])
      .where('id', '=', input.desktopId)
      .executeTakeFirst();
    if (!desktop?.user_id || (desktop.user_id !== input.userId && !input.onBehalf)) throw new DesktopNotFoundError();
    if (desktop.state !== 'assigned') throw new DesktopNotReadyError(desktop.state);
    const now = Date.now();
    const recent = await this.db
      .selectFrom('console_tickets')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', input.userId)
      .where('created_at', '>', now - 60_000)
      .executeTakeFirst();
    const limit = this.options.ticketsPerMinute ?? TICKETS_PER_MINUTE;
    if (Number(recent?.count ?? 0) >= limit) throw new TooManyTicketsError(limit);
    // Hex, so a ticket can also stand in a host name (<ticket>.console.floe for remote-viewer).
    const ticket = randomBytes(30).toString('hex');
    // SPICE passwords are ASCII and at most 59 characters.
    const password = randomBytes(24).toString('base64url');
    const expiresAt = now + TICKET_LIFETIME_SECONDS * 1000;
    await this.hypervisor.setConsolePassword(input.desktopId, password, TICKET_LIFETIME_SECONDS);
    await this.db
      .insertInto('console_tickets')
      .values({
        id: hashTicket(ticket),
        user_id: input.userId,
        desktop_id: input.desktopId,
        origin: input.origin,
        expires_at: expiresAt,
        session_started_at: null,
        created_at: now,
        sign_in_session_id: input.signInSessionId ?? null,
        desktop_owner_id: desktop.user_id === input.userId ? null : desktop.user_id,
      })
      .execute();
    return { ticket, sessionId: hashTicket(ticket), password, expiresAt };
  }

  /**
   * Looks at a ticket presented on a console connection from `origin`: unexpired, issued to
   * that origin, its desktop still running for the same owner. Does not use it up (`claim`).
   */
  async inspect(ticket: string | null | undefined, origin: string | undefined): Promise<TicketInspection> {
    if (!ticket) return { ok: false, status: 401, reason: 'console ticket missing' };
    const id = hashTicket(ticket);
    const row = await this.db.selectFrom('console_tickets').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return { ok: false, status: 401, reason: 'console ticket unknown' };
    if (Date.now() > row.expires_at) return { ok: false, status: 401, reason: 'console ticket expired' };
    if (origin !== row.origin) return { ok: false, status: 403, reason: 'console ticket issued to another origin' };
    const desktop = await this.db
      .selectFrom('desktops')
      .select(['state', 'user_id', 'spice_host', 'spice_port'])
      .where('id', '=', row.desktop_id)
      .executeTakeFirst();
    const owner = row.desktop_owner_id ?? row.user_id;
    if (!desktop || desktop.user_id !== owner || desktop.state !== 'assigned' || !desktop.spice_port) {
      return { ok: false, status: 404, reason: 'desktop not running' };
    }
    return {
      ok: true,
      id,
      userId: row.user_id,
      desktopId: row.desktop_id,
      host: desktop.spice_host ?? '127.0.0.1',
      port: desktop.spice_port,
      signInSessionId: row.sign_in_session_id,
      claimed: row.session_started_at !== null,
    };
  }

  /** Uses a ticket up for its one console session; false if another connection already did. */
  async claim(id: string): Promise<boolean> {
    const claimed = await this.db
      .updateTable('console_tickets')
      .set({ session_started_at: Date.now() })
      .where('id', '=', id)
      .where('session_started_at', 'is', null)
      .executeTakeFirst();
    return Number(claimed.numUpdatedRows) === 1;
  }

  /** Deletes tickets that expired more than an hour ago. */
  async prune(): Promise<void> {
    await this.db.deleteFrom('console_tickets').where('expires_at', '<', Date.now() - 3_600_000).execute();
  }
}
