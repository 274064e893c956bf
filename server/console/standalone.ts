/**
 * The production console relay on its own: `createConsoleRelay` behind a plain HTTP server, with
 * a fixed desktop target and a fixed ticket instead of Floe's database. It exists so the relay can
 * be measured and compared (the benchmark, anyone's own harness) on exactly the code that serves
 * consoles. An upgrade must carry `?ticket=<ticket>` (checked by its sha256 in constant time, as
 * Floe checks tickets by their hash) and send a SPICE link message first; each upgrade is its own
 * console session, so any number of channels may be open.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConsoleRelay, type ConsoleTarget } from './relay';

/** The ticket the standalone relay accepts unless it is given another. */
export const STANDALONE_TEST_TICKET = 'floe-standalone-test-ticket';

export interface StandaloneRelayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  target: ConsoleTarget;
  ticket?: string;
}

export interface StandaloneRelay {
  host: string;
  port: number;
  /** The URL a client opens, ticket included. */
  url: string;
  close(): Promise<void>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

export async function startStandaloneRelay(options: StandaloneRelayOptions): Promise<StandaloneRelay> {
  const ticket = options.ticket ?? STANDALONE_TEST_TICKET;
  const ticketHash = sha256(ticket);
  const sessionPrefix = randomBytes(6).toString('hex');
  let sessions = 0;
  const relay = createConsoleRelay({
    resolve: async (req) => {
      const given = new URL(req.url ?? '/', 'http://relay.invalid').searchParams.get('ticket');
      if (given === null || !timingSafeEqual(sha256(given), ticketHash)) {
        return { status: 401, reason: 'unknown console ticket' };
      }
      sessions += 1;
      return { target: options.target, sessionKey: `${sessionPrefix}-${sessions}` };
    },
  });
  const server = http.createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('console relay: WebSocket upgrades only\n');
  });
  server.on('upgrade', (req, socket, head) => {
    if (!relay.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port, backlog: 4096 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: options.host,
    port,
    url: `ws://${options.host}:${port}/console/ws?ticket=${encodeURIComponent(ticket)}`,
    close: async () => {
      server.close();
      await relay.close();
    },
  };
}
