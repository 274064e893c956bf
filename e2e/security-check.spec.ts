/**
 * The second security round (issue 12) against a running Floe (production build, real QEMU):
 * each test is one finding, tried the way an attacker tried it. One `.vv` ticket opens one
 * remote-viewer session, whose tunnels a helpdesk disconnect and a sign-out close; a replayed
 * browser ticket leaves the live console alone and a spent one is refused before the 101; a
 * failed handshake leaves no console record; the helpdesk cannot act on staff's desktops and
 * people do not see staff's address; ticket issuance is limited; bodies are refused by their
 * length, forwarded Host headers are ignored, broken %-encoding is a 400; and stray WebSocket
 * upgrades and idle CONNECTs are refused and closed.
 */
import net from 'node:net';
import type { APIRequestContext } from '@playwright/test';
import WebSocket from 'ws';
import { apiSignIn, expect, test, withDatabase } from './auth-fixtures';
import { parseVirtViewerFile, secureTunnel } from './remote-viewer-file';

/** A SPICE link message's first 22 bytes (enough for Floe to tell the channel; QEMU waits for the rest). */
function link(channelType: number): Buffer {
  const bytes = Buffer.alloc(22);
  bytes.write('REDQ', 0, 'latin1');
  bytes.writeUInt32LE(2, 4);
  bytes.writeUInt32LE(2, 8);
  bytes.writeUInt32LE(26, 12);
  bytes.writeUInt8(channelType, 20);
  return bytes;
}
const MAIN = 1;
const INPUTS = 3;

/** Opens a CONNECT tunnel through the SPICE proxy, starts TLS as the .vv says and sends a link message; the status, and the socket when 200. */
async function tunnel(proxy: { host: string; port: number }, host: string, channelType: number, vv: Record<string, string | undefined>): Promise<{ status: number; socket: net.Socket }> {
  const opened = await plainTunnel(proxy, host);
  if (opened.status !== 200) return opened;
  const secure = await secureTunnel(opened.socket, vv);
  secure.on('error', () => {});
  secure.write(link(channelType));
  return { status: 200, socket: secure };
}

/** Opens a CONNECT tunnel through the SPICE proxy: the status, and the socket. */
function plainTunnel(proxy: { host: string; port: number }, host: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, proxy.host);
    let text = '';
    socket.on('error', () => {});
    socket.once('connect', () => socket.write(`CONNECT ${host}:5900 HTTP/1.1\r\nHost: ${host}:5900\r\nUser-Agent: remote-viewer\r\n\r\n`));
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve({ status: Number(text.split(' ')[1]), socket });
    };
    socket.on('data', onData);
    socket.once('close', () => (text.includes('\r\n\r\n') ? undefined : reject(new Error(`closed before answering: ${text}`))));
  });
}

const closed = (socket: net.Socket) => (socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve())));

/** A console channel like spice-html5's; resolves with the open socket or the HTTP status it was refused with. */
function channel(url: string, origin: string, cookie: string, channelType: number): Promise<{ ws: WebSocket; closed: Promise<number> } | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'binary', { origin, headers: { cookie } });
    const wsClosed = new Promise<number>((done) => ws.on('close', (code) => done(code)));
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(-1));
    ws.on('open', () => {
      ws.send(link(channelType));
      // Floe admits or refuses a channel on its link message: give it the time to say no.
      const timer = setTimeout(() => resolve({ ws, closed: wsClosed }), 1500);
      ws.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  });
}

const cookieOf = async (context: APIRequestContext) => (await context.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join('; ');

test('issue 12: each finding of the second security round, against the running server', async ({ playwright, floe }) => {
  test.setTimeout(400_000);
  const alice = await playwright.request.newContext({ baseURL: floe.url });
  const helen = await playwright.request.newContext({ baseURL: floe.url });
  const admin = await playwright.request.newContext({ baseURL: floe.url });
  for (const [context, name] of [[alice, 'alice'], [helen, 'helen'], [admin, 'admin']] as const) {
    expect((await apiSignIn(context, name, floe.password)).error, `${name} signs in`).toBeNull();
  }
  const opened = await alice.post('/api/desktops', { data: { pool: 'demo' } });
  expect(opened.status()).toBe(200);
  const desktopId = ((await opened.json()) as { desktop: { id: string } }).desktop.id;
  const A = encodeURIComponent(desktopId);
  await expect
    .poll(async () => ((await (await alice.get(`/api/desktops/${A}`)).json()) as { desktop: { stage: string } }).desktop.stage, { timeout: 180_000, intervals: [500] })
    .toBe('ready');
  const openConsoles = async () => ((await (await alice.get(`/api/desktops/${A}/consoles`)).json()) as { open: { id: string; clientAddress: string | null; userAgent: string | null; mine: boolean }[] }).open;
  const wsBase = floe.url.replace(/^http/, 'ws');
  const aliceCookie = await cookieOf(alice);

  await test.step('1. a .vv ticket opens one session; a helpdesk disconnect and a sign-out close its tunnels', async () => {
    const vv = async (context = alice) => {
      const fields = parseVirtViewerFile(await (await context.get(`/api/desktops/${A}/remote-viewer`)).text());
      const proxy = new URL(fields.proxy ?? '');
      return { fields, host: fields.host ?? '', proxy: { host: proxy.hostname, port: Number(proxy.port) } };
    };
    const file = await vv();
    const main = await tunnel(file.proxy, file.host, MAIN, file.fields);
    expect(main.status).toBe(200);
    await expect.poll(async () => (await openConsoles()).length, { timeout: 10_000 }).toBe(1);
    const inputs = await tunnel(file.proxy, file.host, INPUTS, file.fields);
    expect(inputs.status, "the session's own channels join it").toBe(200);
    const second = await tunnel(file.proxy, file.host, MAIN, file.fields);
    await closed(second.socket);
    expect(main.socket.destroyed, 'a second session from the same .vv is refused, the first stays').toBe(false);

    // The helpdesk closes it (it was listed): every tunnel goes, the .vv opens nothing more.
    const [record] = await openConsoles();
    const disconnect = await helen.post(`/api/helpdesk/consoles/${encodeURIComponent(record!.id)}/disconnect`, { data: { reason: 'security check: disconnect' } });
    expect(disconnect.status()).toBe(200);
    await Promise.all([closed(main.socket), closed(inputs.socket)]);
    expect((await tunnel(file.proxy, file.host, MAIN, file.fields)).status, 'a spent .vv ticket').toBe(409);

    // A sign-out closes a remote-viewer console too (the .vv carries the sign-in it came from).
    const second2 = await playwright.request.newContext({ baseURL: floe.url });
    expect((await apiSignIn(second2, 'alice', floe.password)).error).toBeNull();
    const again = await vv(second2);
    const live = await tunnel(again.proxy, again.host, MAIN, again.fields);
    expect(live.status).toBe(200);
    await expect.poll(async () => (await openConsoles()).length, { timeout: 10_000 }).toBe(1);
    withDatabase(floe, (db) => {
      const row = db.prepare('SELECT sign_in_session_id AS sid FROM console_sessions WHERE ended_at IS NULL').get() as { sid: string | null };
      expect(row.sid, 'the remote-viewer console carries its sign-in').not.toBeNull();
      db.prepare("UPDATE sign_in_sessions SET ended_at = ?, end_reason = 'signed out' WHERE id = ?").run(Date.now(), row.sid);
    });
    await closed(live.socket);
    await expect.poll(async () => (await openConsoles()).length, { timeout: 10_000 }).toBe(0);
    await second2.dispose();
  });

  await test.step('2. a replayed live browser ticket leaves the console alone; a spent one is refused before the 101', async () => {
    const ticket = (await (await alice.post(`/api/desktops/${A}/console-ticket`)).json()) as { path: string };
    const url = `${wsBase}${ticket.path}`;
    const main = await channel(url, floe.url, aliceCookie, MAIN);
    expect(typeof main, 'the main channel opens').toBe('object');
    expect(await channel(url, floe.url, aliceCookie, MAIN), 'the replayed main channel is refused').toBe(1008);
    if (typeof main !== 'object') return;
    expect(main.ws.readyState, 'the live console is still open').toBe(WebSocket.OPEN);
    main.ws.close();
    await main.closed;
    await expect.poll(async () => (await openConsoles()).length, { timeout: 10_000 }).toBe(0);
    expect(await channel(url, floe.url, aliceCookie, MAIN), 'a spent ticket: refused as HTTP, no WebSocket').toBe(409);
  });

  await test.step('3. a failed handshake leaves no console record', async () => {
    const ticket = (await (await alice.post(`/api/desktops/${A}/console-ticket`)).json()) as { path: string };
    // The `ws` client always sends version 13: this upgrade is written by hand.
    const answer = await new Promise<string>((resolve) => {
      const { hostname, port } = new URL(floe.url);
      const socket = net.connect(Number(port), hostname);
      let text = '';
      socket.on('connect', () =>
        socket.write(
          `GET ${ticket.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nOrigin: ${floe.url}\r\nCookie: ${aliceCookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Protocol: binary\r\n\r\n',
        ),
      );
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    withDatabase(floe, (db) => {
      const row = db.prepare('SELECT session_started_at AS claimed FROM console_tickets ORDER BY created_at DESC LIMIT 1').get() as { claimed: number | null };
      expect(row.claimed, 'the gate saw and claimed that ticket').not.toBeNull();
    });
    expect(await openConsoles()).toEqual([]);
    withDatabase(floe, (db) => expect((db.prepare('SELECT count(*) AS n FROM console_sessions WHERE ended_at IS NULL').get() as { n: number }).n).toBe(0));
  });

  await test.step("4. the helpdesk cannot act on an admin's desktop; people do not see staff's address", async () => {
    const adminId = withDatabase(floe, (db) => (db.prepare("SELECT id FROM users WHERE name = 'admin'").get() as { id: string }).id);
    withDatabase(floe, (db) =>
      db
        .prepare("INSERT INTO desktops (id, pool_name, state, user_id, created_at, state_changed_at) VALUES ('admins-desktop', 'demo', 'stopped', ?, ?, ?)")
        .run(adminId, Date.now(), Date.now()),
    );
    for (const [what, call] of [
      ['return', () => helen.post('/api/helpdesk/desktops/admins-desktop/action', { data: { action: 'return', reason: 'security check' } })],
      ['console ticket', () => helen.post('/api/helpdesk/desktops/admins-desktop/console-ticket')],
      ['open', () => helen.post('/api/helpdesk/desktops/admins-desktop/open', { data: { reason: 'security check' } })],
      ['status', () => helen.get('/api/helpdesk/desktops/admins-desktop')],
    ] as const) {
      expect((await call()).status(), `helen: ${what} on the admin's desktop`).toBe(404);
    }
    expect(withDatabase(floe, (db) => (db.prepare("SELECT state FROM desktops WHERE id = 'admins-desktop'").get() as { state: string }).state)).toBe('stopped');

    // Staff acting on anyone's desktop say why, every time, and the reason is audited: an admin
    // on a helpdesk member's desktop (a reason is required), and on alice's (no ticket without one).
    const helenId = withDatabase(floe, (db) => (db.prepare("SELECT id FROM users WHERE name = 'helen'").get() as { id: string }).id);
    withDatabase(floe, (db) =>
      db
        .prepare("INSERT INTO desktops (id, pool_name, state, user_id, created_at, state_changed_at) VALUES ('helens-desktop', 'demo', 'stopped', ?, ?, ?)")
        .run(helenId, Date.now(), Date.now()),
    );
    expect((await admin.post('/api/helpdesk/desktops/helens-desktop/action', { data: { action: 'return' } })).status(), 'no reason').toBe(400);
    expect((await admin.post('/api/helpdesk/desktops/helens-desktop/action', { data: { action: 'return', reason: '  ' } })).status(), 'a blank reason').toBe(400);
    expect((await admin.post('/api/helpdesk/desktops/helens-desktop/action', { data: { action: 'return', reason: 'security check: helen asked' } })).status()).toBe(200);
    const audited = (action: string, target: string) =>
      withDatabase(floe, (db) =>
        (db.prepare('SELECT actor, detail FROM audit_log WHERE action = ? AND target = ? ORDER BY id DESC').all(action, target) as { actor: string; detail: string }[]).map(
          (row) => [row.actor, (JSON.parse(row.detail) as { reason?: string }).reason],
        ),
      );
    expect(audited('helpdesk desktop return', 'helens-desktop')).toEqual([['admin', 'security check: helen asked']]);
    expect((await admin.post(`/api/helpdesk/desktops/${A}/console-ticket`)).status(), 'an admin console ticket without a reason').toBe(403);
    expect((await admin.post(`/api/helpdesk/desktops/${A}/open`, { data: { reason: 'security check: admin looks' } })).status()).toBe(200);
    expect((await admin.post(`/api/helpdesk/desktops/${A}/console-ticket`)).status()).toBe(200);
    expect(audited('helpdesk console ticket', desktopId)).toEqual([['admin', 'security check: admin looks']]);

    // Helen opens alice's desktop: alice sees that it is open elsewhere, not from where.
    expect((await helen.post(`/api/helpdesk/desktops/${A}/console-ticket`)).status(), 'no ticket before saying why').toBe(403);
    expect((await helen.post(`/api/helpdesk/desktops/${A}/open`, { data: { reason: 'security check: alice called' } })).status()).toBe(200);
    const ticket = (await (await helen.post(`/api/helpdesk/desktops/${A}/console-ticket`)).json()) as { path: string };
    expect(audited('helpdesk console ticket', desktopId)[0]).toEqual(['helen', 'security check: alice called']);
    const console = await channel(`${wsBase}${ticket.path}`, floe.url, await cookieOf(helen), MAIN);
    expect(typeof console).toBe('object');
    await expect.poll(async () => (await openConsoles()).length, { timeout: 10_000 }).toBe(1);
    expect(await openConsoles()).toEqual([expect.objectContaining({ mine: false, clientAddress: null, userAgent: null })]);
    expect((await helen.get(`/api/desktops/${A}/consoles`)).status(), "the person's own route is not helen's").toBe(404);
    if (typeof console === 'object') {
      console.ws.close();
      await console.closed;
    }
  });

  await test.step('8. broken %-encoding is a 400 on pages and routes, never a 500', async () => {
    for (const path of ['/desktops/%FF', '/desktops/%', `/api/desktops/%FF`, '/api/auth/error?error=%00', '/helpdesk/people/%E0%A4%A']) {
      expect((await alice.get(path, { maxRedirects: 0 })).status(), path).toBe(400);
    }
  });

  await test.step('7. bodies are refused by their length before buffering; forwarded Host headers are ignored', async () => {
    const answer = await new Promise<string>((resolve) => {
      const { hostname, port } = new URL(floe.url);
      const socket = net.connect(Number(port), hostname);
      let text = '';
      socket.on('connect', () => socket.write(`POST /api/auth/callback/credentials HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11000000\r\n\r\n`));
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    expect(answer, 'answered before a byte of the body was sent').toMatch(/^HTTP\/1\.1 413/);
    const providers = await (await alice.get('/api/auth/providers', { headers: { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' } })).text();
    expect(providers).not.toContain('evil.example');
  });

  await test.step('issue 11: a WebSocket upgrade off the console path is refused and closed', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${wsBase}/_next/webpack-hmr`, { origin: floe.url });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });

  await test.step('6. console tickets are limited per person: a clear 429', async () => {
    let last = 0;
    for (let i = 0; i < 25 && last !== 429; i++) last = (await alice.post(`/api/desktops/${A}/console-ticket`)).status();
    expect(last).toBe(429);
    const refused = await alice.post(`/api/desktops/${A}/console-ticket`);
    expect(((await refused.json()) as { error: string }).error).toMatch(/wait a minute/);
  });

  for (const context of [alice, helen, admin]) await context.dispose();
});
