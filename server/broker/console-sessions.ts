/**
 * Console session records: who had which desktop's console open, from where, when, how many
 * bytes each way and why it ended. A session begins when its ticket's first (main) channel is
 * admitted and ends when the relay reports its last channel closed. "Is this desktop's console
 * open elsewhere?" and the idle policy read these records, never an in-memory flag.
 */
import type { Kysely } from 'kysely';
import type { ConsoleSession, Database } from '../db/schema';

export interface ConsoleSessionEnd {
  sessionKey: string;
  endedAt: number;
  bytesToDesktop: number;
  bytesToBrowser: number;
  endReason: string;
}

export class ConsoleSessions {
  constructor(private readonly db: Kysely<Database>) {}

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
        .set({ ended_at: now, end_reason: 'taken over', taken_over_by: takenOverBy })
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
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return others.map((o) => o.id);
  }

  async get(id: string): Promise<ConsoleSession | undefined> {
    return this.db.selectFrom('console_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Of the sessions live in a relay (`ids`), those that must close now, with the reason shown
   * to the person: ended elsewhere (taken over, closed by the helpdesk), their sign-in ended,
   * or their desktop is no longer running for its owner. Their records are ended here.
   */
  async toClose(ids: string[]): Promise<{ id: string; reason: string }[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('console_sessions as c')
      .leftJoin('desktops as d', 'd.id', 'c.desktop_id')
      .leftJoin('sign_in_sessions as s', 's.id', 'c.sign_in_session_id')
      .select(['c.id', 'c.ended_at', 'c.end_reason', 'd.state', 's.ended_at as sign_in_ended_at', 's.expires_at as sign_in_expires_at'])
      .where('c.id', 'in', ids)
      .execute();
    const now = Date.now();
    const closing: { id: string; reason: string }[] = [];
    for (const row of rows) {
      if (row.ended_at !== null) closing.push({ id: row.id, reason: row.end_reason ?? 'closed' });
      else if (row.sign_in_ended_at != null || (row.sign_in_expires_at != null && row.sign_in_expires_at < now)) {
        closing.push({ id: row.id, reason: 'signed out' });
      } else if (row.state !== 'assigned' && row.state !== 'booting') closing.push({ id: row.id, reason: 'desktop stopped' });
    }
    const toEnd = closing.filter((c) => rows.find((r) => r.id === c.id)?.ended_at === null);
    for (const { id, reason } of toEnd) {
      await this.db.updateTable('console_sessions').set({ ended_at: now, end_reason: reason }).where('id', '=', id).where('ended_at', 'is', null).execute();
    }
    return closing;
  }

  /** Ends an open session on purpose (helpdesk disconnect); the relay closes it. */
  async close(id: string, reason: string): Promise<boolean> {
    const result = await this.db
      .updateTable('console_sessions')
      .set({ ended_at: Date.now(), end_reason: reason })
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

  /** Ends every session still marked open (used at start: a restarted Floe has no live consoles). */
  async endAllOpen(reason: string): Promise<number> {
    const result = await this.db
      .updateTable('console_sessions')
      .set({ ended_at: Date.now(), end_reason: reason })
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
