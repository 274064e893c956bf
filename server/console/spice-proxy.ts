/**
 * An HTTP CONNECT proxy for native SPICE clients (remote-viewer), like Proxmox's spiceproxy:
 * desktops' SPICE ports listen on loopback, and a `.vv` file names this proxy plus a host name
 * that carries a console ticket (`<ticket>.console.floe`). Each CONNECT is resolved by the
 * function Floe gives (ticket → desktop address) before anything is connected; a refusal is
 * answered with its HTTP status. Then bytes are piped both ways. Like the WebSocket relay it
 * knows nothing of the broker: it only gets `resolve`.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConsoleRefusal, ConsoleSessionSummary, ConsoleTarget } from './types';

/** Where a CONNECT goes; tunnels with the same session key form one console session. */
export interface ProxyAdmission extends ConsoleTarget {
  sessionKey: string;
}

export interface SpiceProxyOptions {
  /** Turns the CONNECT authority (`host:port`) into a desktop address, or a refusal. */
  resolve: (authority: string, req: http.IncomingMessage) => Promise<ProxyAdmission | ConsoleRefusal>;
  /** Called for every refused CONNECT, with the reason. */
  onRefusal?: (status: number, reason: string) => void;
  /** Called once a session's last tunnel has closed, with the bytes each way. */
  onSessionEnd?: (summary: ConsoleSessionSummary) => void;
}

interface ProxySession {
  tunnels: number;
  startedAt: number;
  channels: number;
  bytesToDesktop: number;
  bytesToBrowser: number;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests', 502: 'Bad Gateway', 503: 'Service Unavailable' };

function answer(socket: Duplex, status: number, reason: string): void {
  const text = reason.replace(/[\r\n]+/g, ' ');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

/** Creates the proxy server (not listening yet). Plain requests get 405. */
export function createSpiceProxy(options: SpiceProxyOptions): http.Server {
  const sessions = new Map<string, ProxySession>();
  const server = http.createServer((_req, res) => {
    res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'CONNECT' }).end('This is Floe\'s SPICE proxy: it only tunnels (CONNECT) for remote-viewer.');
  });
  server.on('connect', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => client.destroy());
    const refuse = (status: number, reason: string) => {
      options.onRefusal?.(status, reason);
      answer(client, status, reason);
    };
    options
      .resolve(req.url ?? '', req)
      .then((decision) => {
        if (client.destroyed) return;
        if ('status' in decision) return refuse(decision.status, decision.reason);
        const desktop = net.connect({ host: decision.host, port: decision.port, noDelay: true });
        let connected = false;
        desktop.once('connect', () => {
          connected = true;
          const session = sessions.get(decision.sessionKey) ?? { tunnels: 0, startedAt: Date.now(), channels: 0, bytesToDesktop: 0, bytesToBrowser: 0 };
          sessions.set(decision.sessionKey, session);
          session.tunnels++;
          session.channels++;
          desktop.once('close', () => {
            session.bytesToDesktop += desktop.bytesWritten;
            session.bytesToBrowser += desktop.bytesRead;
            if (--session.tunnels > 0) return;
            sessions.delete(decision.sessionKey);
            options.onSessionEnd?.({
              sessionKey: decision.sessionKey,
              startedAt: session.startedAt,
              endedAt: Date.now(),
              bytesToDesktop: session.bytesToDesktop,
              bytesToBrowser: session.bytesToBrowser,
              channels: session.channels,
              endReason: 'client closed',
            });
          });
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          if (head.length > 0) desktop.write(head);
          desktop.pipe(client);
          client.pipe(desktop);
        });
        desktop.once('error', () => (connected ? client.destroy() : refuse(502, 'desktop unreachable')));
        desktop.once('close', () => client.destroy());
        client.once('close', () => desktop.destroy());
      })
      .catch(() => refuse(503, 'console unavailable'));
  });
  return server;
}

/** The ticket in a CONNECT authority `<ticket>.console.floe:<port>`, or undefined. */
export function ticketFromAuthority(authority: string): string | undefined {
  return /^([0-9a-f]{32,64})\.console\.floe:\d{1,5}$/.exec(authority)?.[1];
}
