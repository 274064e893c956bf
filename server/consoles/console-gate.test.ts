/**
 * The console gate with both ways in over real sockets: the WebSocket relay behind a real HTTP
 * server and the CONNECT proxy, a TCP server standing in for the desktop's SPICE port, real
 * tickets and session records in a real database (SQLite, or PostgreSQL with
 * FLOE_TEST_DATABASE_URL). The browser's cookie check is stubbed here (e2e covers it). Each test
 * is one finding of the second security round: one session per ticket for remote-viewer, a
 * replayed browser ticket leaves the live console alone and a spent one is refused before the
 * 101, no record for a handshake that failed, and the sweep and closes reach both ways.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, test } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { waitUntil } from '../../test/wait-until';
import { Broker } from '../broker/broker';
import { ConsoleSessions } from '../broker/console-sessions';
import { ConsoleTickets, REMOTE_VIEWER_ORIGIN } from '../broker/console-tickets';
import { PoolDefinitionSchema } from '../broker/pools';
import { SPICE_LINK_BYTES, spiceChannelTypes } from '../console/link-header';
import { createConsoleRelay } from '../console/relay';
import { createSpiceProxy, ticketFromAuthority } from '../console/spice-proxy';
import { openTestDatabase } from '../db/test-database';
import { FakeHypervisor } from '../hypervisor/fake/fake-hypervisor';
import { ConsoleGate } from './console-gate';
import { CONSOLE_CLOSED_BY_FLOE } from './end-reasons';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function link(channelType: number): Buffer {
  const bytes = Buffer.alloc(SPICE_LINK_BYTES);
  bytes.write('REDQ', 0, 'latin1');
  bytes.writeUInt32LE(2, 4);
  bytes.writeUInt8(channelType, 20);
  return bytes;
}

/** How the tests wait for what the gate does in the background: a 10 ms poll, 5 s at most. */
const POLL = { timeoutMs: 5000, intervalMs: 10 };

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Everything: database, a desktop of alice's whose SPICE port is an echoing TCP server, the gate, relay and proxy. */
async function rig(options: { signedIn?: boolean } = {}) {
  const database = await openTestDatabase();
  cleanups.push(() => database.close());
  const hypervisor = new FakeHypervisor();
  const sessions = new ConsoleSessions(database.db);
  const broker = new Broker({ db: database.db, engine: database.engine, hypervisor, sessions, imageDir: database.dataDir, log: pino({ level: 'silent' }) });
  await broker.definePools([PoolDefinitionSchema.parse({ name: 'p', title: 'P', kind: 'persistent', template: 'demo' })]);
  const assigned = await broker.assignDesktop('alice', 'p');
  await broker.settle();
  await database.db
    .insertInto('users')
    .values([
      { id: 'alice', name: 'alice', display_name: 'Alice Martin', password_hash: null, role: 'user', disabled: 0, created_at: 0 },
      { id: 'helen', name: 'helen', display_name: 'Helen Okafor', password_hash: null, role: 'helpdesk', disabled: 0, created_at: 0 },
    ])
    .execute();
  const now = Date.now();
  await database.db
    .insertInto('sign_in_sessions')
    .values({ id: 'signin-1', user_id: 'alice', method: 'password', client_address: null, user_agent: null, started_at: now, last_seen_at: now, expires_at: now + 3_600_000, ended_at: null, end_reason: null })
    .execute();

  const desktopSockets: net.Socket[] = [];
  const desktop = net.createServer((socket) => {
    desktopSockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', (data) => socket.write(data));
  });
  const desktopPort = await listen(desktop);
  await database.db.updateTable('desktops').set({ spice_port: desktopPort }).where('id', '=', assigned.id).execute();
  cleanups.push(() => {
    for (const s of desktopSockets) s.destroy();
    desktop.close();
  });

  const tickets = new ConsoleTickets(database.db, hypervisor);
  const gate = new ConsoleGate({
    tickets,
    records: sessions,
    browserSignIn: async () => (options.signedIn === false ? { ok: false, status: 401, reason: 'not signed in' } : { ok: true, userId: 'alice', name: 'alice', role: 'user' }),
    signInLive: async (key, userId) => {
      const row = await database.db.selectFrom('sign_in_sessions').selectAll().where('id', '=', key).executeTakeFirst();
      return row !== undefined && row.user_id === userId && row.ended_at === null;
    },
    clientAddress: (req) => req.socket.remoteAddress,
    log: pino({ level: 'silent' }),
  });
  const relay = createConsoleRelay({ resolve: gate.resolveBrowser, onSessionEnd: gate.sessionEnded, isAllowedOrigin: (origin, req) => gate.isAllowedOrigin(origin, req) });
  gate.attach(relay);
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (!relay.handleUpgrade(req, socket, head)) socket.destroy();
  });
  const port = await listen(server);
  const proxy = createSpiceProxy({ resolve: (authority, req) => gate.resolveRemoteViewer(ticketFromAuthority(authority), req), onSessionEnd: gate.sessionEnded });
  gate.attach(proxy);
  const proxyPort = await listen(proxy.server);
  cleanups.push(async () => {
    server.closeAllConnections();
    await relay.close();
    await new Promise((resolve) => server.close(resolve));
    await proxy.close();
  });

  const origin = `http://127.0.0.1:${port}`;
  return {
    port,
    origin,
    database,
    sessions,
    tickets,
    gate,
    desktopId: assigned.id,
    desktopSockets,
    /** A browser ticket of alice's. */
    browserTicket: async () => (await tickets.issue({ userId: 'alice', desktopId: assigned.id, origin, signInSessionId: 'signin-1' })).ticket,
    /** A `.vv` ticket of alice's (carrying her sign-in, as lib/remote-viewer.ts issues it). */
    viewerTicket: async () => (await tickets.issue({ userId: 'alice', desktopId: assigned.id, origin: REMOTE_VIEWER_ORIGIN, signInSessionId: 'signin-1' })).ticket,
    /** Opens one console channel as spice-html5 does; resolves with the socket once the link echoed, or the HTTP status. */
    channel: (ticket: string, channelType: number, headers: Record<string, string> = {}) =>
      new Promise<{ ws: WebSocket; closed: Promise<number> } | number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/console/ws?ticket=${ticket}`, 'binary', { origin, headers });
        const closed = new Promise<number>((done) => ws.on('close', (code) => done(code)));
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('error', () => {});
        ws.on('open', () => ws.send(link(channelType)));
        ws.once('message', () => resolve({ ws, closed }));
        ws.on('close', (code) => resolve(code));
      }),
    /** Opens one tunnel as remote-viewer does; resolves with the socket once the link echoed, or the HTTP status / 'closed'. */
    tunnel: (ticket: string, channelType: number) =>
      new Promise<net.Socket | number | 'closed'>((resolve) => {
        const socket = net.connect(proxyPort, '127.0.0.1');
        let text = '';
        let established = false;
        socket.on('error', () => {});
        socket.on('connect', () => socket.write(`CONNECT ${ticket}.console.floe:5900 HTTP/1.1\r\nHost: x\r\n\r\n`));
        socket.on('data', (chunk: Buffer) => {
          if (established) return resolve(socket);
          text += chunk.toString('latin1');
          if (!text.includes('\r\n\r\n')) return;
          const status = Number(text.split(' ')[1]);
          if (status !== 200) return resolve(status);
          established = true;
          socket.write(link(channelType));
        });
        socket.on('close', () => resolve('closed'));
      }),
  };
}

const closedSocket = (socket: net.Socket) => (socket.destroyed ? Promise.resolve() : once(socket, 'close').then(() => undefined));

test('remote-viewer: one .vv ticket opens one session; a spent ticket is refused; the sweep and closes reach its tunnels', async () => {
  const t = await rig();
  const ticket = await t.viewerTicket();
  const main = await t.tunnel(ticket, spiceChannelTypes.main);
  assert.ok(main instanceof net.Socket, 'the main channel tunnels');
  const display = await t.tunnel(ticket, spiceChannelTypes.display);
  assert.ok(display instanceof net.Socket, "the session's own channels join it");
  assert.equal(await t.tunnel(ticket, spiceChannelTypes.main), 'closed', 'a second main channel (a second session) is refused');
  assert.equal(main.destroyed, false);
  await waitUntil('the record', async () => (await t.sessions.openOn(t.desktopId)).length === 1, POLL);

  // The helpdesk closes it: every tunnel goes, and the ticket opens nothing any more.
  const [record] = await t.sessions.openOn(t.desktopId);
  assert.equal(await t.gate.closeConsole(record!.id, 'closed-by-staff', 'Helpdesk (Helen Okafor)'), true);
  await Promise.all([closedSocket(main), closedSocket(display)]);
  assert.equal(await t.tunnel(ticket, spiceChannelTypes.main), 409, 'a spent .vv ticket is refused before any tunnel');
  assert.equal((await t.sessions.get(record!.id))?.end_reason, 'closed-by-staff');

  // The owner signs out: the sweep closes her remote-viewer console.
  const second = await t.tunnel(await t.viewerTicket(), spiceChannelTypes.main);
  assert.ok(second instanceof net.Socket);
  await waitUntil('the second record', async () => (await t.sessions.openOn(t.desktopId)).length === 1, POLL);
  await t.database.db.updateTable('sign_in_sessions').set({ ended_at: Date.now(), end_reason: 'signed out' }).execute();
  await t.gate.sweep();
  await closedSocket(second);
  assert.equal(await t.tunnel(await t.viewerTicket(), spiceChannelTypes.main), 401, 'a .vv ticket of an ended sign-in opens nothing');
  assert.deepEqual(t.gate.liveSessions(), []);
});

test('browser: replaying a live ticket leaves the console alone; a spent ticket is refused before the 101', async () => {
  const t = await rig();
  const ticket = await t.browserTicket();
  const main = await t.channel(ticket, spiceChannelTypes.main);
  assert.ok(typeof main === 'object');
  const replay = await t.channel(ticket, spiceChannelTypes.main);
  assert.equal(replay, 1008, 'the replayed main channel is refused');
  const inputs = await t.channel(ticket, spiceChannelTypes.inputs);
  assert.ok(typeof inputs === 'object', 'the live console still admits its own channels: the replay did not end it');
  assert.equal((await t.sessions.openOn(t.desktopId)).length, 1);

  main.ws.close();
  assert.equal(await inputs.closed, 1000);
  await waitUntil('the record to end', async () => (await t.sessions.openOn(t.desktopId)).length === 0, POLL);
  assert.equal(await t.channel(ticket, spiceChannelTypes.main), 409, 'a spent ticket: HTTP 409, no WebSocket');
  const [ended] = await t.database.db.selectFrom('console_sessions').select('end_reason').execute();
  assert.equal(ended?.end_reason, 'client-closed');
});

test('no phantom records: a failed handshake or a client gone at once begins nothing', async () => {
  const t = await rig();
  const upgrade = async (ticket: string, version: string) => {
    const raw = net.connect(t.port, '127.0.0.1');
    raw.on('error', () => {});
    await once(raw, 'connect');
    raw.write(
      `GET /console/ws?ticket=${ticket} HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nOrigin: ${t.origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\nSec-WebSocket-Protocol: binary\r\n\r\n`,
    );
    return raw;
  };
  const claimed = async (ticket: string) => {
    const seen = await t.tickets.inspect(ticket, t.origin);
    return seen.ok && seen.claimed;
  };
  // A handshake the WebSocket layer refuses after the gate admitted it.
  const badVersion = await t.browserTicket();
  const refused = await upgrade(badVersion, '99');
  const [answer] = (await once(refused, 'data')) as [Buffer];
  assert.match(answer.toString('latin1'), /^HTTP\/1\.1 400/);
  await waitUntil('the gate to see the first upgrade', () => claimed(badVersion), POLL);
  refused.destroy();
  // A client that sends its upgrade and is gone at once.
  const goneTicket = await t.browserTicket();
  (await upgrade(goneTicket, '13')).destroy();
  await waitUntil('the gate to see the second upgrade', () => claimed(goneTicket), POLL);
  await waitUntil('the relay to drop it', () => t.gate.liveSessions().length === 0, POLL);
  assert.deepEqual(await t.database.db.selectFrom('console_sessions').select('id').execute(), [], 'no console record without an open main channel');
  assert.equal(t.desktopSockets.length, 0);
});

test('a console opened by remote-viewer takes over the browser console, and the other way round', async () => {
  const t = await rig();
  const browser = await t.channel(await t.browserTicket(), spiceChannelTypes.main);
  assert.ok(typeof browser === 'object');
  await waitUntil('the browser record', async () => (await t.sessions.openOn(t.desktopId)).length === 1, POLL);
  const viewer = await t.tunnel(await t.viewerTicket(), spiceChannelTypes.main);
  assert.ok(viewer instanceof net.Socket);
  assert.equal(await browser.closed, CONSOLE_CLOSED_BY_FLOE, 'the browser console is closed by Floe');
  const again = await t.channel(await t.browserTicket(), spiceChannelTypes.main);
  assert.ok(typeof again === 'object');
  await closedSocket(viewer);
  await waitUntil('one record open', async () => (await t.sessions.openOn(t.desktopId)).length === 1, POLL);
  const reasons = (await t.database.db.selectFrom('console_sessions').select('end_reason').where('ended_at', 'is not', null).execute()).map((r) => r.end_reason);
  assert.deepEqual(reasons.sort(), ['taken-over', 'taken-over']);
  again.ws.close();
});
