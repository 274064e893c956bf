/**
 * An HTTP CONNECT proxy for native SPICE clients (remote-viewer), like Proxmox's spiceproxy:
 * desktops' SPICE ports listen on loopback, and a `.vv` file names this proxy plus a host name
 * that carries a console ticket (`<ticket>.console.floe`). Each CONNECT is resolved by the
 * function Floe gives before anything is connected (a refusal is answered with its HTTP status
 * and the socket destroyed); after the 200 the tunnel's first bytes must be a SPICE link
 * message, which the admission may refuse per channel, exactly as the WebSocket relay does.
 * Tunnels sharing a session key form a console session; when its admitted main channel closes
 * the rest are closed, and each session is reported once when its last tunnel has closed.
 * Bounds: connections per client address and in total, a deadline from accepting a connection
 * to its link message, an idle timeout on tunnels, tunnels per session. Like the relay it
 * knows nothing of the broker: it only gets `resolve`.
 *
 * TLS (`tls` option, as Floe runs it): after the 200 the tunnel is a TLS server with Floe's
 * certificate (server/host/spice-tls.ts), which remote-viewer checks against the `.vv` file's
 * `ca` and `host-subject` (`secure-channels=all`). The proxy ends the TLS, so the gate still
 * reads each channel's link message and the SPICE password never crosses the network in
 * clear; the last hop to QEMU stays on loopback, like the browser relay's. The CONNECT line
 * itself is plain HTTP (remote-viewer speaks no HTTPS to a proxy): it carries a ticket that
 * admits one console session only.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { refuseUpgrade } from './http-refusal';
import { couldStartSpiceLink, parseSpiceLink, SPICE_LINK_BYTES, spiceChannelTypes } from './link-header';
import type { ActiveConsoleSession, ConsoleAdmission, ConsoleRefusal, ConsoleSessionSummary } from './types';

export interface SpiceProxyOptions {
  /** Turns the CONNECT authority (`host:port`) into a desktop address and session, or a refusal. */
  resolve: (authority: string, req: http.IncomingMessage) => Promise<ConsoleAdmission | ConsoleRefusal>;
  /** Called for every refused CONNECT or tunnel, with the reason. */
  onRefusal?: (status: number, reason: string) => void;
  /** Called once a session's last tunnel has closed, with the bytes each way. */
  onSessionEnd?: (summary: ConsoleSessionSummary) => void;
  /** Open connections allowed per client address (more are dropped at once). Default 32. */
  maxConnectionsPerAddress?: number;
  /** Open connections allowed in total. Default 512. */
  maxConnections?: number;
  /** From accepting a connection to its tunnel's link message. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** A tunnel with no byte either way for this long is closed. Default 1 hour. */
  idleTimeoutMs?: number;
  /** Tunnels (and CONNECTs being admitted) per console session. Default 8. */
  maxTunnelsPerSession?: number;
  /** Speak TLS inside every tunnel with this key and certificate (PEM). Default: plain. */
  tls?: { key: string; cert: string };
}

export interface SpiceProxy {
  readonly server: http.Server;
  /** Closes every tunnel of the session. */
  closeSession(sessionKey: string, reason: string): void;
  activeSessions(): ActiveConsoleSession[];
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface ProxySession {
  key: string;
  tunnels: Set<net.Socket>;
  /** CONNECTs admitted for this session whose link message has not come yet. */
  pending: number;
  main: net.Socket | undefined;
  startedAt: number;
  channels: number;
  bytesToDesktop: number;
  bytesToBrowser: number;
  closingReason: string | undefined;
}

/** Creates the proxy (not listening yet: `proxy.server.listen(…)`). Plain requests get 405. */
export function createSpiceProxy(options: SpiceProxyOptions): SpiceProxy {
  const maxPerAddress = options.maxConnectionsPerAddress ?? 32;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 3_600_000;
  const maxTunnelsPerSession = options.maxTunnelsPerSession ?? 8;
  const secureContext = options.tls ? tls.createSecureContext({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' }) : undefined;
  const sessions = new Map<string, ProxySession>();
  const liveSessions = new Set<ProxySession>();
  const connections = new Set<net.Socket>();
  const byAddress = new Map<string, number>();
  /** Each connection's deadline for its link message. */
  const handshakeTimers = new WeakMap<net.Socket, NodeJS.Timeout>();

  const report = (status: number, reason: string): void => {
    try {
      options.onRefusal?.(status, reason);
    } catch {
      // A metrics hook must not break the proxy.
    }
  };

  const server = http.createServer((_req, res) => {
    res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'CONNECT' }).end('This is Floe\'s SPICE proxy: it only tunnels (CONNECT) for remote-viewer.');
  });
  server.maxConnections = options.maxConnections ?? 512;
  server.headersTimeout = handshakeTimeoutMs;
  server.requestTimeout = handshakeTimeoutMs;

  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = byAddress.get(address) ?? 0;
    if (count >= maxPerAddress) {
      report(429, 'too many connections from this address');
      socket.destroy();
      return;
    }
    byAddress.set(address, count + 1);
    connections.add(socket);
    const handshake = setTimeout(() => socket.destroy(), handshakeTimeoutMs);
    handshakeTimers.set(socket, handshake);
    socket.once('close', () => {
      clearTimeout(handshake);
      connections.delete(socket);
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left > 0) byAddress.set(address, left);
      else byAddress.delete(address);
    });
  });

  server.on('connect', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => client.destroy());
    const refuse = (status: number, reason: string) => {
      report(status, reason);
      refuseUpgrade(client, status, reason);
    };
    options
      .resolve(req.url ?? '', req)
      .then((decision) => {
        if (client.destroyed) return;
        if ('status' in decision) return refuse(decision.status, decision.reason);
        let session = sessions.get(decision.sessionKey);
        if (session === undefined) {
          session = { key: decision.sessionKey, tunnels: new Set(), pending: 0, main: undefined, startedAt: 0, channels: 0, bytesToDesktop: 0, bytesToBrowser: 0, closingReason: undefined };
          sessions.set(session.key, session);
          liveSessions.add(session);
        }
        if (session.tunnels.size + session.pending >= maxTunnelsPerSession) {
          endIfEmpty(session, undefined);
          return refuse(429, 'too many channels for this console session');
        }
        openTunnel(session, decision, client as net.Socket, head);
      })
      .catch(() => refuse(503, 'console unavailable'));
  });

  /** Answers 200, reads the link message, asks the admission, then connects and pipes. */
  function openTunnel(session: ProxySession, admission: ConsoleAdmission, raw: net.Socket, head: Buffer): void {
    session.pending += 1;
    raw.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    let client = raw;
    let linkBytes = head;
    if (secureContext) {
      // Bytes that came with the CONNECT are the start of the TLS handshake.
      if (head.length > 0) raw.unshift(head);
      linkBytes = Buffer.alloc(0);
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext });
      let established = false;
      secure.once('secure', () => (established = true));
      secure.on('error', () => {
        // A client that does not trust this certificate (or speaks no TLS) ends here.
        if (!established) report(400, 'TLS handshake failed');
        secure.destroy();
      });
      client = secure;
    }
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      session.pending -= 1;
      client.removeListener('data', onData);
      client.removeListener('close', onEarlyClose);
    };
    const refuseChannel = (reason: string): void => {
      settle();
      report(1008, reason);
      client.destroy();
      endIfEmpty(session, undefined);
    };
    const onEarlyClose = (): void => {
      settle();
      endIfEmpty(session, undefined);
    };
    const onData = (chunk: Buffer): void => {
      linkBytes = linkBytes.length === 0 ? chunk : Buffer.concat([linkBytes, chunk]);
      tryLink();
    };
    const tryLink = (): void => {
      if (!couldStartSpiceLink(linkBytes)) return refuseChannel('expected a SPICE link message');
      if (linkBytes.length < SPICE_LINK_BYTES) return;
      const link = parseSpiceLink(linkBytes);
      if (link === undefined) return refuseChannel('expected a SPICE link message');
      let refusal: string | undefined;
      if (session.closingReason !== undefined) refusal = 'console session closed';
      else {
        try {
          refusal = admission.admitChannel?.(link);
        } catch {
          refusal = 'channel admission failed';
        }
      }
      if (refusal !== undefined) return refuseChannel(refusal);
      settle();
      client.pause();
      connectDesktop(session, admission, client, raw, linkBytes, link.channelType === spiceChannelTypes.main);
    };
    client.on('close', onEarlyClose);
    client.on('data', onData);
    if (linkBytes.length > 0) tryLink();
  }

  function connectDesktop(session: ProxySession, admission: ConsoleAdmission, client: net.Socket, raw: net.Socket, firstBytes: Buffer, isMain: boolean): void {
    clearTimeout(handshakeTimers.get(raw));
    if (session.tunnels.size === 0 && session.channels === 0) session.startedAt = Date.now();
    session.tunnels.add(client);
    session.channels += 1;
    if (isMain) session.main ??= client;
    const desktop = net.connect({ host: admission.target.host, port: admission.target.port, noDelay: true });
    let endReason: string | undefined;
    desktop.setTimeout(handshakeTimeoutMs);
    desktop.once('connect', () => {
      desktop.setTimeout(0);
      desktop.setKeepAlive(true, 30_000);
      client.setTimeout(idleTimeoutMs);
      desktop.pipe(client);
      client.pipe(desktop);
      client.resume();
    });
    desktop.write(firstBytes);
    desktop.once('timeout', () => {
      endReason ??= 'desktop error: connect timeout';
      desktop.destroy();
    });
    client.once('timeout', () => {
      endReason ??= 'idle timeout';
      client.destroy();
    });
    desktop.once('error', (error: NodeJS.ErrnoException) => {
      endReason ??= `desktop error: ${error.code ?? 'error'}`;
    });
    desktop.once('close', () => {
      endReason ??= 'desktop closed';
      client.destroy();
    });
    client.once('close', () => {
      endReason ??= 'client closed';
      desktop.destroy();
      session.bytesToDesktop += desktop.bytesWritten;
      session.bytesToBrowser += desktop.bytesRead;
      session.tunnels.delete(client);
      if (client === session.main && session.closingReason === undefined) closeWholeSession(session, endReason);
      endIfEmpty(session, endReason);
    });
  }

  function closeWholeSession(session: ProxySession, reason: string): void {
    session.closingReason ??= reason;
    if (sessions.get(session.key) === session) sessions.delete(session.key);
    for (const tunnel of [...session.tunnels]) tunnel.destroy();
  }

  function endIfEmpty(session: ProxySession, lastReason: string | undefined): void {
    if (session.tunnels.size > 0 || session.pending > 0) return;
    if (sessions.get(session.key) === session) sessions.delete(session.key);
    if (!liveSessions.delete(session) || session.channels === 0) return;
    try {
      options.onSessionEnd?.({
        sessionKey: session.key,
        startedAt: session.startedAt,
        endedAt: Date.now(),
        bytesToDesktop: session.bytesToDesktop,
        bytesToBrowser: session.bytesToBrowser,
        channels: session.channels,
        endReason: session.closingReason ?? lastReason ?? 'client closed',
      });
    } catch {
      // The records' hook must not break the proxy.
    }
  }

  return {
    server,
    closeSession(sessionKey, reason) {
      for (const session of [...liveSessions]) {
        if (session.key === sessionKey) closeWholeSession(session, `closed by server: ${reason}`);
      }
    },
    activeSessions() {
      const active: ActiveConsoleSession[] = [];
      for (const session of liveSessions) {
        if (session.tunnels.size === 0) continue;
        let bytesToDesktop = session.bytesToDesktop;
        let bytesToBrowser = session.bytesToBrowser;
        for (const tunnel of session.tunnels) {
          bytesToDesktop += tunnel.bytesRead;
          bytesToBrowser += tunnel.bytesWritten;
        }
        active.push({ sessionKey: session.key, channels: session.tunnels.size, startedAt: session.startedAt, bytesToDesktop, bytesToBrowser });
      }
      return active;
    },
    close() {
      for (const session of [...liveSessions]) closeWholeSession(session, 'closed by server: shutting down');
      for (const socket of connections) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The ticket in a CONNECT authority `<ticket>.console.floe:<port>`, or undefined. */
export function ticketFromAuthority(authority: string): string | undefined {
  return /^([0-9a-f]{32,64})\.console\.floe:\d{1,5}$/.exec(authority)?.[1];
}
