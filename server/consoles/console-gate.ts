/**
 * The console gate: the one place that admits a console, for both ways in, the browser's
 * WebSocket relay and remote-viewer's CONNECT proxy (both in server/console, which know nothing
 * of tickets). For every connection it checks the sign-in (the browser's cookie, or the sign-in
 * a `.vv` ticket was issued under) and the ticket; a ticket starts ONE console session: the
 * first connection claims it and must be SPICE's main channel, later ones may only join that
 * session while its main channel is open, and a used ticket is refused before any WebSocket or
 * tunnel exists. The session's record is begun when its main channel is really open (a
 * WebSocket or tunnel carrying its link message; that takes the desktop over, closing the
 * others) and ended on every path, with a typed reason (end-reasons.ts). A sweep checks every
 * live console of this process, relay and proxy, against the records: ended elsewhere, signed
 * out, access revoked, desktop stopped.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { ConsoleAccess } from '../accounts/console-access';
import { REMOTE_VIEWER_ORIGIN, type TicketInspection } from '../broker/console-tickets';
import type { ConsoleSessionEnd } from '../broker/console-sessions';
import { spiceChannelTypes } from '../console/link-header';
import type { ActiveConsoleSession, ConsoleAdmission, ConsoleRefusal, ConsoleSessionSummary } from '../console/types';
import { CONSOLE_CLOSED_BY_FLOE, type ConsoleEndReason } from './end-reasons';

/** What a way in (the relay, the proxy) lets the gate do with the sessions it carries. */
export interface ConsoleWay {
  closeSession(sessionKey: string, reason: string, code?: number): void;
  activeSessions(): ActiveConsoleSession[];
}

/** The ticket store as the gate uses it (server/broker/console-tickets.ts). */
export interface TicketStore {
  inspect(ticket: string | null | undefined, origin: string | undefined): Promise<TicketInspection>;
  claim(id: string): Promise<boolean>;
}

/** The session records as the gate uses them (server/broker/console-sessions.ts). */
export interface ConsoleRecords {
  begin(input: { id: string; desktopId: string; userId: string; clientAddress?: string; userAgent?: string; signInSessionId?: string }): Promise<string[]>;
  end(summary: ConsoleSessionEnd): Promise<void>;
  close(id: string, reason: ConsoleEndReason, by?: string): Promise<boolean>;
  toClose(ids: string[]): Promise<{ id: string; reason: ConsoleEndReason }[]>;
}

export interface ConsoleGateOptions {
  tickets: TicketStore;
  records: ConsoleRecords;
  /** The sign-in behind a browser's upgrade (its cookie), and that the ticket is that person's. */
  browserSignIn: (req: IncomingMessage) => Promise<ConsoleAccess>;
  /** Whether the sign-in (database key) a ticket was issued under is live for its user. */
  signInLive: (signInSessionKey: string, userId: string) => Promise<boolean>;
  /** The client's address as Floe believes it (trusted proxies applied). */
  clientAddress: (req: IncomingMessage) => string | undefined;
  log: Logger;
  /** Every refusal, for the metrics. */
  onRefusal?: (reason: string) => void;
  /** Every ended session's bytes, for the metrics. */
  onSessionBytes?: (bytesToDesktop: number, bytesToBrowser: number) => void;
  /** How often the sweep runs. Default 2000 ms. */
  sweepEveryMs?: number;
}

type Way = 'browser' | 'remote-viewer';

/** A console this process admitted: claimed, perhaps begun, not yet reported ended. */
interface LiveConsole {
  id: string;
  way: Way;
  desktopId: string;
  userId: string;
  signInSessionId: string | null;
  client: { address?: string; userAgent?: string };
  claimedAt: number;
  /** Its main channel is open: its record was begun (or is being begun). */
  begun: Promise<void> | undefined;
  /** Set when Floe closes it on purpose; that reason ends its record. */
  endReason: ConsoleEndReason | undefined;
}

/** A claimed console whose main channel has not come by then is forgotten (its ticket is spent). */
const UNOPENED_CONSOLE_MS = 120_000;

export class ConsoleGate {
  private readonly ways: ConsoleWay[] = [];
  private readonly live = new Map<string, LiveConsole>();

  constructor(private readonly options: ConsoleGateOptions) {}

  /** Registers a way in, so closes and the sweep reach its sessions. */
  attach(way: ConsoleWay): void {
    this.ways.push(way);
  }

  /** Only the portal's own pages may open a console: the Origin must name the Host it was sent to. */
  isAllowedOrigin(origin: string | undefined, req: IncomingMessage): boolean {
    const host = req.headers.host;
    if (origin === undefined || host === undefined) return false;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  /** For the relay: a browser's console upgrade. */
  readonly resolveBrowser = async (req: IncomingMessage): Promise<ConsoleAdmission | ConsoleRefusal> => {
    const access = await this.options.browserSignIn(req);
    if (!access.ok) return this.refuse(access.status, access.reason);
    const ticket = new URL(req.url ?? '/', 'http://floe.invalid').searchParams.get('ticket');
    const inspection = await this.options.tickets.inspect(ticket, req.headers.origin);
    if (inspection.ok && inspection.userId !== access.userId) return this.refuse(403, 'console ticket belongs to another user');
    return this.admit(inspection, 'browser', { address: this.options.clientAddress(req), userAgent: req.headers['user-agent'] });
  };

  /** For the proxy: a CONNECT to `<ticket>.console.floe:<port>`, already read into `ticket`. */
  readonly resolveRemoteViewer = async (ticket: string | undefined, req: IncomingMessage): Promise<ConsoleAdmission | ConsoleRefusal> => {
    const inspection = await this.options.tickets.inspect(ticket, REMOTE_VIEWER_ORIGIN);
    if (inspection.ok) {
      // remote-viewer sends no cookie: the ticket's own sign-in must still be live.
      if (inspection.signInSessionId === null) return this.refuse(401, 'console ticket has no sign-in');
      if (!(await this.options.signInLive(inspection.signInSessionId, inspection.userId))) return this.refuse(401, 'sign-in session ended');
    }
    return this.admit(inspection, 'remote-viewer', { address: req.socket.remoteAddress, userAgent: req.headers['user-agent'] ?? 'remote-viewer' });
  };

  /** Both ways report each session they carried here once its last channel closed. */
  readonly sessionEnded = (summary: ConsoleSessionSummary): void => {
    this.options.onSessionBytes?.(summary.bytesToDesktop, summary.bytesToBrowser);
    const console = this.live.get(summary.sessionKey);
    if (!console) return;
    this.live.delete(summary.sessionKey);
    if (!console.begun) return;
    const endReason = console.endReason ?? endReasonOfWay(summary.endReason);
    void console.begun
      .then(() =>
        this.options.records.end({
          sessionKey: summary.sessionKey,
          endedAt: summary.endedAt,
          bytesToDesktop: summary.bytesToDesktop,
          bytesToBrowser: summary.bytesToBrowser,
          endReason,
        }),
      )
      .catch((error: unknown) => this.options.log.error({ err: error }, 'could not record console session end'));
  };

  /** Ends a console on purpose (staff): its record at once, and wherever this process carries it. */
  async closeConsole(id: string, reason: ConsoleEndReason, by?: string): Promise<boolean> {
    const ended = await this.options.records.close(id, reason, by);
    this.closeHere(id, reason);
    return ended;
  }

  /** Live consoles of this process (both ways), with their bytes so far. */
  liveSessions(): ActiveConsoleSession[] {
    return this.ways.flatMap((way) => way.activeSessions());
  }

  /** One pass of the sweep: closes the live consoles the records say are over. */
  async sweep(): Promise<void> {
    const now = Date.now();
    for (const console of [...this.live.values()]) {
      if (!console.begun && now - console.claimedAt > UNOPENED_CONSOLE_MS) {
        this.live.delete(console.id);
        this.closeHere(console.id, 'refused');
      }
    }
    const ids = this.liveSessions()
      .map((s) => s.sessionKey)
      .filter((id) => this.live.get(id)?.begun !== undefined);
    for (const { id, reason } of await this.options.records.toClose(ids)) this.closeHere(id, reason);
  }

  /** Starts the sweep; returns its stop. */
  start(): () => void {
    const timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.options.log.error({ err: error }, 'console sweep failed'));
    }, this.options.sweepEveryMs ?? 2000);
    timer.unref();
    return () => clearInterval(timer);
  }

  private refuse(status: ConsoleRefusal['status'], reason: string): ConsoleRefusal {
    this.options.onRefusal?.(reason);
    return { status, reason };
  }

  private async admit(inspection: TicketInspection, way: Way, client: LiveConsole['client']): Promise<ConsoleAdmission | ConsoleRefusal> {
    if (!inspection.ok) return this.refuse(inspection.status, inspection.reason);
    let console = this.live.get(inspection.id);
    if (inspection.claimed) {
      // Only the live session's own channels may use a spent ticket, once its main channel is open.
      if (!console || console.way !== way || !console.begun || console.endReason) return this.refuse(409, 'console ticket already used');
    } else {
      if (!(await this.options.tickets.claim(inspection.id))) return this.refuse(409, 'console ticket already used');
      console = {
        id: inspection.id,
        way,
        desktopId: inspection.desktopId,
        userId: inspection.userId,
        signInSessionId: inspection.signInSessionId,
        client,
        claimedAt: Date.now(),
        begun: undefined,
        endReason: undefined,
      };
      this.live.set(console.id, console);
    }
    const admitted = console;
    return {
      target: { host: inspection.host, port: inspection.port },
      sessionKey: admitted.id,
      admitChannel: (link) => this.admitChannel(admitted, link.channelType === spiceChannelTypes.main),
    };
  }

  /** A channel's link message came over an open WebSocket or tunnel. */
  private admitChannel(console: LiveConsole, isMain: boolean): string | undefined {
    if (console.endReason !== undefined) return 'console session closed';
    if (console.begun === undefined) {
      if (!isMain) return 'a console session starts with the main channel';
      console.begun = this.begin(console);
      return undefined;
    }
    return isMain ? 'console ticket already used' : undefined;
  }

  /** The main channel is open: the record begins, and takes the desktop over. */
  private async begin(console: LiveConsole): Promise<void> {
    try {
      const takenOver = await this.options.records.begin({
        id: console.id,
        desktopId: console.desktopId,
        userId: console.userId,
        clientAddress: console.client.address,
        userAgent: console.client.userAgent,
        signInSessionId: console.signInSessionId ?? undefined,
      });
      for (const id of takenOver) this.closeHere(id, 'taken-over');
    } catch (error) {
      // A console nobody can see in the records would escape the idle policy: close it.
      this.options.log.error({ err: error }, 'could not record console session start');
      this.closeHere(console.id, 'refused');
    }
  }

  private closeHere(id: string, reason: ConsoleEndReason): void {
    const console = this.live.get(id);
    if (console) console.endReason ??= reason;
    for (const way of this.ways) way.closeSession(id, reason, CONSOLE_CLOSED_BY_FLOE);
  }
}

/** The typed end of a session the relay or proxy ended by itself (their own words). */
export function endReasonOfWay(text: string): ConsoleEndReason {
  if (text === 'browser closed' || text === 'client closed') return 'client-closed';
  if (text === 'desktop closed') return 'desktop-closed';
  if (text === 'closed by server: shutting down') return 'floe-stopped';
  if (text.startsWith('channel refused') || text.startsWith('protocol error') || text === 'browser sent a text frame') return 'refused';
  return 'connection-lost';
}
