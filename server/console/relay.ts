/**
 * The console relay: takes the HTTP upgrades for the console path, admits or refuses them, and
 * relays each accepted WebSocket (one per SPICE channel) to its own TCP connection to the
 * desktop. It knows nothing of tickets or desktops: the `resolve` function it is given turns a
 * request into a target and a session key, or a refusal, which is answered as plain HTTP before
 * any byte reaches the desktop. Channels sharing a session key form a console session; when the
 * session's admitted main channel closes, the relay closes the rest (a refused channel, even one
 * claiming to be main, never ends the session it tried to join), and it reports each session
 * once when its last channel has closed. Upgrades still being admitted are capped per client
 * address. One timer pings every WebSocket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConsoleChannel, isSendableCloseCode } from './channel';
import { refuseUpgrade } from './http-refusal';
import { spiceChannelTypes, type SpiceLinkInfo } from './link-header';
import { ConsoleSession } from './session';
import type {
  ActiveConsoleSession,
  ConsoleAdmission,
  ConsoleRefusal,
  ConsoleSessionSummary,
  ResolveConsole,
} from './types';

export type {
  ActiveConsoleSession,
  ConsoleAdmission,
  ConsoleRefusal,
  ConsoleSessionSummary,
  ConsoleTarget,
  ResolveConsole,
  SpiceLinkInfo,
} from './types';
export { parseSpiceLink, spiceChannelTypes, SPICE_LINK_BYTES } from './link-header';

/** The largest WebSocket message a browser may send (spice-html5's largest is ~64 KiB). */
const MAX_BROWSER_MESSAGE_BYTES = 1024 * 1024;

export interface ConsoleRelayOptions {
  resolve: ResolveConsole;
  /** Path of the console WebSocket; the query string is ignored. Default '/console/ws'. */
  path?: string;
  /** Default: allow every origin. A refused origin is answered 403. */
  isAllowedOrigin?: (origin: string | undefined, req: IncomingMessage) => boolean;
  /** Ping every WebSocket this often; one that did not answer the last ping is dropped. Default 30000. */
  pingIntervalMs?: number;
  /** Open channels (and upgrades on their way) allowed per session; more are answered 429. Default 8. */
  maxChannelsPerSession?: number;
  /** Upgrades being admitted (not yet WebSockets) allowed per client address; more are answered 429. Default 16. */
  maxPendingUpgradesPerAddress?: number;
  /** Called once per session when its last channel has closed. It should not throw. */
  onSessionEnd?: (summary: ConsoleSessionSummary) => void;
  /** Called for every refused upgrade (its HTTP status) or channel (1008), with the reason. */
  onRefusal?: (status: number, reason: string) => void;
}

export interface ConsoleRelay {
  /** Returns false if the request's path is not the console path (the caller routes it elsewhere). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes every channel of the session (takeover, sign-out). `code` defaults to 1000. */
  closeSession(sessionKey: string, reason: string, code?: number): void;
  activeSessions(): ActiveConsoleSession[];
  /** Refuses new upgrades, closes every channel (1001) and resolves once all have closed. */
  close(): Promise<void>;
}

export function createConsoleRelay(options: ConsoleRelayOptions): ConsoleRelay {
  const consolePath = options.path ?? '/console/ws';
  const isAllowedOrigin = options.isAllowedOrigin ?? (() => true);
  const maxChannelsPerSession = options.maxChannelsPerSession ?? 8;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const maxPendingPerAddress = options.maxPendingUpgradesPerAddress ?? 16;
  /** Upgrades being admitted, by client address. */
  const pendingByAddress = new Map<string, number>();

  const server = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: MAX_BROWSER_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });
  /** Sessions that admit channels, by key. */
  const openSessions = new Map<string, ConsoleSession>();
  /** Every session not yet ended, closing ones included. */
  const liveSessions = new Set<ConsoleSession>();
  const channels = new Set<ConsoleChannel>();
  let shuttingDown = false;
  let shutdown: Promise<void> | undefined;
  let onAllChannelsClosed: (() => void) | undefined;

  const pingTimer = setInterval(pingAll, pingIntervalMs);
  pingTimer.unref();

  function pingAll(): void {
    for (const channel of channels) {
      if (!channel.answeredPing && !channel.browserReadPaused) {
        channel.terminate('ping timeout');
        continue;
      }
      channel.answeredPing = false;
      if (channel.ws.readyState === channel.ws.OPEN) channel.ws.ping();
    }
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (pathOf(req.url) !== consolePath) return false;
    const address = req.socket.remoteAddress ?? 'unknown';
    const pending = pendingByAddress.get(address) ?? 0;
    if (pending >= maxPendingPerAddress) {
      report(429, 'too many console upgrades from this address');
      refuseUpgrade(socket, 429, 'too many console upgrades from this address');
      return true;
    }
    pendingByAddress.set(address, pending + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const left = (pendingByAddress.get(address) ?? 1) - 1;
      if (left > 0) pendingByAddress.set(address, left);
      else pendingByAddress.delete(address);
    };
    socket.once('close', release);
    admit(req, socket, head, release).catch(() => {
      release();
      report(503, 'console unavailable');
      refuseUpgrade(socket, 503, 'console unavailable');
    });
    return true;
  }

  /** `admitted` is called once the upgrade is no longer pending (a WebSocket, or refused). */
  async function admit(req: IncomingMessage, socket: Duplex, head: Buffer, admitted: () => void): Promise<void> {
    const ignoreError = (): void => {};
    socket.on('error', ignoreError);
    const refuse = (status: number, reason: string): void => {
      report(status, reason);
      refuseUpgrade(socket, status, reason);
    };
    if (shuttingDown) return refuse(503, 'console relay is shutting down');
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      return refuse(400, 'expected a WebSocket upgrade');
    }
    if (!originAllowed(req)) return refuse(403, 'origin not allowed');

    let decision: ConsoleAdmission | ConsoleRefusal;
    try {
      decision = await options.resolve(req);
    } catch {
      return refuse(503, 'console unavailable');
    }
    if (socket.destroyed) return;
    if (shuttingDown) return refuse(503, 'console relay is shutting down');
    if ('status' in decision) return refuse(decision.status, decision.reason);

    const admission = decision;
    let session = openSessions.get(admission.sessionKey);
    if (session === undefined) {
      session = new ConsoleSession(admission.sessionKey);
      openSessions.set(session.key, session);
      liveSessions.add(session);
    }
    if (session.channelCount >= maxChannelsPerSession) {
      endIfEmpty(session, undefined);
      return refuse(429, 'too many channels for this console session');
    }

    const reserved = session;
    reserved.reservedChannels += 1;
    let settled = false;
    // If the handshake fails, ws destroys the socket without calling back: release the slot.
    socket.once('close', () => {
      if (settled) return;
      settled = true;
      reserved.reservedChannels -= 1;
      endIfEmpty(reserved, undefined);
    });
    socket.removeListener('error', ignoreError);
    server.handleUpgrade(req, socket, head, (ws) => {
      if (settled) {
        ws.terminate();
        return;
      }
      settled = true;
      reserved.reservedChannels -= 1;
      admitted();
      openChannel(reserved, admission, ws);
    });
  }

  function originAllowed(req: IncomingMessage): boolean {
    try {
      return isAllowedOrigin(req.headers.origin, req);
    } catch {
      return false;
    }
  }

  function openChannel(session: ConsoleSession, admission: ConsoleAdmission, ws: WebSocket): void {
    const channel = new ConsoleChannel(ws, admission.target, {
      admit: (channel, link) => admitChannel(session, admission, channel, link),
      finished: (closed) => channelFinished(session, closed),
    });
    channels.add(channel);
    session.add(channel);
    if (session.closingReason !== undefined) {
      channel.close(1000, 'console session closed', session.closingReason);
    }
  }

  function admitChannel(
    session: ConsoleSession,
    admission: ConsoleAdmission,
    channel: ConsoleChannel,
    link: SpiceLinkInfo,
  ): string | undefined {
    const refusal = channelRefusal(session, admission, link);
    if (refusal !== undefined) report(1008, refusal);
    else if (link.channelType === spiceChannelTypes.main) session.mainChannel ??= channel;
    return refusal;
  }

  function channelRefusal(session: ConsoleSession, admission: ConsoleAdmission, link: SpiceLinkInfo): string | undefined {
    if (session.closingReason !== undefined) return 'console session closed';
    if (admission.admitChannel === undefined) return undefined;
    try {
      return admission.admitChannel(link);
    } catch {
      return 'channel admission failed';
    }
  }

  function report(status: number, reason: string): void {
    try {
      options.onRefusal?.(status, reason);
    } catch (error) {
      process.emitWarning(`console relay: onRefusal threw: ${String(error)}`);
    }
  }

  function channelFinished(session: ConsoleSession, channel: ConsoleChannel): void {
    channels.delete(channel);
    session.remove(channel);
    if (channel === session.mainChannel && session.closingReason === undefined) {
      closeWholeSession(session, channel.endReason ?? 'main channel closed', 1000, 'main channel closed');
    }
    endIfEmpty(session, channel.endReason);
    if (channels.size === 0) onAllChannelsClosed?.();
  }

  /** Starts closing every channel of a session; it admits no more channels. */
  function closeWholeSession(
    session: ConsoleSession,
    endReason: string,
    code: number,
    browserReason: string,
  ): void {
    session.closingReason ??= endReason;
    if (openSessions.get(session.key) === session) openSessions.delete(session.key);
    for (const channel of [...session.channels]) channel.close(code, browserReason, endReason);
  }

  /** Ends a session that has no channel left, reporting it if any channel ever opened. */
  function endIfEmpty(session: ConsoleSession, lastChannelReason: string | undefined): void {
    if (session.channelCount > 0) return;
    if (openSessions.get(session.key) === session) openSessions.delete(session.key);
    if (!liveSessions.delete(session)) return;
    if (session.openedChannels === 0 || options.onSessionEnd === undefined) return;
    try {
      options.onSessionEnd(session.summary(lastChannelReason));
    } catch (error) {
      process.emitWarning(`console relay: onSessionEnd threw: ${String(error)}`);
    }
  }

  function closeSession(sessionKey: string, reason: string, code = 1000): void {
    if (!isSendableCloseCode(code)) {
      throw new RangeError(`not a WebSocket close code a server may send: ${code}`);
    }
    for (const session of [...liveSessions]) {
      if (session.key === sessionKey) closeWholeSession(session, `closed by server: ${reason}`, code, reason);
    }
  }

  function activeSessions(): ActiveConsoleSession[] {
    const active: ActiveConsoleSession[] = [];
    for (const session of liveSessions) {
      if (session.channels.size > 0) active.push(session.snapshot());
    }
    return active;
  }

  function close(): Promise<void> {
    shutdown ??= (async () => {
      shuttingDown = true;
      clearInterval(pingTimer);
      const allClosed = new Promise<void>((resolve) => {
        onAllChannelsClosed = resolve;
      });
      for (const session of [...liveSessions]) {
        closeWholeSession(session, 'closed by server: shutting down', 1001, 'server shutting down');
      }
      for (const channel of channels) channel.destroyDesktop();
      if (channels.size > 0) await allClosed;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return shutdown;
  }

  return { handleUpgrade, closeSession, activeSessions, close };
}

/** The path of a request URL, without its query string. */
function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
