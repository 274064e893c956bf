/**
 * Console session records: who had which desktop's console open, from where, when, how many
 * bytes each way and why it ended (a ConsoleEndReason, with who caused it in `taken_over_by`).
 * The console gate (server/consoles) begins a session when its main channel is really open and
 * ends it on every path. "Is this desktop's console
 * open elsewhere?" and the idle policy read these records, never an in-memory flag.
 */
import type { Kysely } from 'kysely';
import { type ConsoleEndReason, isConsoleEndReason } from '../consoles/end-reasons';
import { mayOpenDesktopOf } from '../accounts/roles';
import type { ConsoleSession, Database } from '../db/schema';

export interface ConsoleSessionEnd {
  sessionKey: string;
  endedAt: number;
  bytesToDesktop: number;
  bytesToBrowser: number;
  endReason: ConsoleEndReason;
}

export class ConsoleSessions {
  /**
   * `replicaId` names the portal replica whose relay and proxy carry the sessions it begins
   * (FLOE_REPLICA_ID); several replicas share one database (PostgreSQL).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly replicaId: string | null = null,
  ) {}

  /**
   * Records a new console session. SPICE serves one client per desktop, so the new session
   * takes the desktop over: the desktop's other open sessions are ended ("taken over", with who
   * took it). Returns the ids of the sessions it ended, for the relay to close.
   */
  async begin(input: {
    id: string;
    desktopId: string;
    userId: string;
    clientAddress?: string;
    userAgent?: string;
    signInSessionId?: string;
  }): Promise<string[]> {
    const now = Date.now();
    const taker = await this.db
      .selectFrom('users')
      .select(['display_name', 'role'])
      .where('id', '=', input.userId)
      .executeTakeFirst();
    const takenOverBy = taker ? (taker.role === 'user' ? taker.display_name : `${taker.role === 'admin' ? 'Admin' : 'Helpdesk'} (${taker.display_name})`) : 'someone';
    const others = await this.db
      .selectFrom('console_sessions')
      .select('id')
      .where('desktop_id', '=', input.desktopId)
      .where('ended_at', 'is', null)
      .where('id', '!=', input.id)
      .execute();
    if (others.length > 0) {
      await this.db
        .updateTable('console_sessions')
        .set({ ended_at: now, end_reason: 'taken-over' satisfies ConsoleEndReason, taken_over_by: takenOverBy })
        .where('id', 'in', others.map((o) => o.id))
        .where('ended_at', 'is', null)
        .execute();
    }
    await this.db
      .insertInto('console_sessions')
      .values({
        id: input.id,
        desktop_id: input.desktopId,
        user_id: input.userId,
        client_address: input.clientAddress ?? null,
        user_agent: input.userAgent?.slice(0, 512) ?? null,
        started_at: Date.now(),
        ended_at: null,
        bytes_to_desktop: 0,
        bytes_to_browser: 0,
        end_reason: null,
        taken_over_by: null,
        sign_in_session_id: input.signInSessionId ?? null,
        relayed_by: this.replicaId,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return others.map((o) => o.id);
  }

  async get(id: string): Promise<ConsoleSession | undefined> {
    return this.db.selectFrom('console_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Of the sessions live in this Floe (`ids`), those that must close now, with the reason: ended
   * elsewhere (taken over, closed by staff), their sign-in ended, their account disabled or no
   * longer allowed on that desktop (a demoted helpdesk member; helpdesk on staff's desktop), or
   * their desktop no longer running for its owner. Their records are ended here.
   */
  async toClose(ids: string[]): Promise<{ id: string; reason: ConsoleEndReason }[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('console_sessions as c')
      .leftJoin('desktops as d', 'd.id', 'c.desktop_id')
      .leftJoin('sign_in_sessions as s', 's.id', 'c.sign_in_session_id')
      .leftJoin('users as u', 'u.id', 'c.user_id')
      .leftJoin('users as o', 'o.id', 'd.user_id')
      .select([
        'c.id',
        'c.ended_at',
        'c.end_reason',
        'c.user_id',
        'd.state',
        'd.user_id as owner_id',
        's.ended_at as sign_in_ended_at',
        's.expires_at as sign_in_expires_at',
        'u.role',
        'u.disabled',
        'o.role as owner_role',
      ])
      .where('c.id', 'in', ids)
      .execute();
    const now = Date.now();
    const closing: { id: string; reason: ConsoleEndReason }[] = [];
    const toEnd: { id: string; reason: ConsoleEndReason }[] = [];
    for (const row of rows) {
      if (row.ended_at !== null) {
        closing.push({ id: row.id, reason: isConsoleEndReason(row.end_reason) ? row.end_reason : 'closed-by-staff' });
        continue;
      }
      let reason: ConsoleEndReason | undefined;
      if (row.sign_in_ended_at != null || (row.sign_in_expires_at != null && row.sign_in_expires_at < now)) reason = 'signed-out';
      else if (!row.role || row.disabled) reason = 'access-revoked';
      else if (row.user_id !== row.owner_id && !mayOpenDesktopOf(row.role, row.owner_role ?? undefined)) reason = 'access-revoked';
      else if (row.state !== 'assigned' && row.state !== 'booting') reason = 'desktop-stopped';
      if (reason) toEnd.push({ id: row.id, reason });
    }
    for (const { id, reason } of toEnd) {
      await this.db.updateTable('console_sessions').set({ ended_at: now, end_reason: reason }).where('id', '=', id).where('ended_at', 'is', null).execute();
    }
    return [...closing, ...toEnd];
  }

  /** Ends an open session on purpose (staff closed it, `by` says who); the gate closes it. */
  async close(id: string, reason: ConsoleEndReason, by?: string): Promise<boolean> {
    const result = await this.db
      .updateTable('console_sessions')
      .set({ ended_at: Date.now(), end_reason: reason, taken_over_by: by ?? null })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Records the relay's end summary: the bytes always, the end time and reason unless already ended (taken over, closed). */
  async end(summary: ConsoleSessionEnd): Promise<void> {
    await this.db
      .updateTable('console_sessions')
      .set((eb) => ({
        ended_at: eb.fn.coalesce('ended_at', eb.val(summary.endedAt)),
        end_reason: eb.fn.coalesce('end_reason', eb.val(summary.endReason)),
        bytes_to_desktop: summary.bytesToDesktop,
        bytes_to_browser: summary.bytesToBrowser,
      }))
      .where('id', '=', summary.sessionKey)
      .execute();
  }

  /** Sessions of a desktop that have not ended, oldest first. */
  async openOn(desktopId: string): Promise<ConsoleSession[]> {
    return this.db
      .selectFrom('console_sessions')
      .selectAll()
      .where('desktop_id', '=', desktopId)
      .where('ended_at', 'is', null)
      .orderBy('started_at')
      .execute();
  }

  /** How many consoles of the desktop are open, and when the last one closed (if any did). */
  async activity(desktopId: string): Promise<{ open: number; lastEndedAt: number | undefined }> {
    const row = await this.db
      .selectFrom('console_sessions')
      .select((eb) => [
        eb.fn.max('ended_at').as('last'),
        eb.fn.count<number>('started_at').filterWhere('ended_at', 'is', null).as('open'),
      ])
      .where('desktop_id', '=', desktopId)
      .executeTakeFirst();
    return { open: Number(row?.open ?? 0), lastEndedAt: row?.last == null ? undefined : Number(row.last) };
  }

  /**
   * Ends the sessions still marked open that this replica carried (used at start: a restarted
   * replica has no live consoles), and those of no replica (recorded before replicas were).
   * Other replicas' consoles are theirs and stay open.
   */
  async endOpenRelayedHere(reason: ConsoleEndReason): Promise<number> {
    const result = await this.db
      .updateTable('console_sessions')
      .set({ ended_at: Date.now(), end_reason: reason })
      .where('ended_at', 'is', null)
      .where((eb) => (this.replicaId === null ? eb('relayed_by', 'is', null) : eb.or([eb('relayed_by', 'is', null), eb('relayed_by', '=', this.replicaId)])))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Ends the open sessions carried by these replicas (replicas that stopped answering); returns how many. */
  async endOpenRelayedBy(replicaIds: string[], reason: ConsoleEndReason): Promise<number> {
    if (replicaIds.length === 0) return 0;
    const result = await this.db
      .updateTable('console_sessions')
      .set({ ended_at: Date.now(), end_reason: reason })
      .where('ended_at', 'is', null)
      .where('relayed_by', 'in', replicaIds)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
