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

  async begin(input: { id: string; desktopId: string; userId: string; clientAddress?: string; userAgent?: string }): Promise<void> {
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
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async end(summary: ConsoleSessionEnd): Promise<void> {
    await this.db
      .updateTable('console_sessions')
      .set({
        ended_at: summary.endedAt,
        bytes_to_desktop: summary.bytesToDesktop,
        bytes_to_browser: summary.bytesToBrowser,
        end_reason: summary.endReason,
      })
      .where('id', '=', summary.sessionKey)
      .where('ended_at', 'is', null)
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
