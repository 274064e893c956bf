/**
 * Console tickets: short-lived proof that one signed-in user may open one desktop's console from
 * the portal's own origin. A ticket is 30 random bytes; only its sha256 is stored (in the
 * database, so any portal replica can check it). It starts ONE console session: the first
 * connection must be SPICE's main channel and claims the ticket; the session's other channels
 * reuse it while it lives. Each ticket also sets a fresh SPICE password on the desktop, valid
 * just long enough for the channels to log in.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import type { Hypervisor } from '../hypervisor/types';
import type { ConsoleSessions } from './console-sessions';
import { DesktopNotFoundError, DesktopNotReadyError } from './errors';

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

export type TicketCheck =
  | {
      ok: true;
      sessionKey: string;
      userId: string;
      desktopId: string;
      host: string;
      port: number;
      firstChannel: boolean;
      /** Sessions this one took over (ended in the records): the relay closes them. */
      takenOver: string[];
    }
  | { ok: false; status: 401 | 403 | 404; reason: string };

const hashTicket = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

export class ConsoleTickets {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly hypervisor: Hypervisor,
    private readonly sessions: ConsoleSessions,
  ) {}

  /**
   * Issues a ticket for `userId` to open the console of `desktopId`, which must be running and
   * theirs; with `onBehalf` (the caller checked the helpdesk role) it may be someone else's.
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
    // Hex, so a ticket can also stand in a host name (<ticket>.console.floe for remote-viewer).
    const ticket = randomBytes(30).toString('hex');
    // SPICE passwords are ASCII and at most 59 characters.
    const password = randomBytes(24).toString('base64url');
    const now = Date.now();
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
   * Checks a ticket presented on a console connection. The first connection claims the ticket
   * (it must then be the main channel: `firstChannel`) and begins the console session record;
   * later ones join that session.
   */
  async check(
    ticket: string | null,
    origin: string | undefined,
    client: { address?: string; userAgent?: string } = {},
  ): Promise<TicketCheck> {
    if (!ticket) return { ok: false, status: 401, reason: 'console ticket missing' };
    const id = hashTicket(ticket);
    const row = await this.db.selectFrom('console_tickets').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return { ok: false, status: 401, reason: 'console ticket unknown' };
    const now = Date.now();
    if (now > row.expires_at) return { ok: false, status: 401, reason: 'console ticket expired' };
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
    let firstChannel = false;
    let takenOver: string[] = [];
    if (row.session_started_at === null) {
      const claimed = await this.db
        .updateTable('console_tickets')
        .set({ session_started_at: now })
        .where('id', '=', id)
        .where('session_started_at', 'is', null)
        .executeTakeFirst();
      firstChannel = Number(claimed.numUpdatedRows) === 1;
      if (firstChannel) {
        takenOver = await this.sessions.begin({
          id,
          desktopId: row.desktop_id,
          userId: row.user_id,
          clientAddress: client.address,
          userAgent: client.userAgent,
          signInSessionId: row.sign_in_session_id ?? undefined,
        });
      }
    }
    return {
      ok: true,
      sessionKey: id,
      userId: row.user_id,
      desktopId: row.desktop_id,
      host: desktop.spice_host ?? '127.0.0.1',
      port: desktop.spice_port,
      firstChannel,
      takenOver,
    };
  }

  /** Deletes tickets that expired more than an hour ago. */
  async prune(): Promise<void> {
    await this.db.deleteFrom('console_tickets').where('expires_at', '<', Date.now() - 3_600_000).execute();
  }
}
