/**
 * The SPICE CONNECT proxy over real sockets on port 0: a resolved CONNECT tunnels bytes both
 * ways after its SPICE link message; a refused one gets its HTTP status, its socket is
 * destroyed and nothing is connected; plain requests get 405; channels are admitted like the
 * relay's (main first; the main tunnel's end closes the rest); connections are bounded per
 * address, by a handshake deadline and by an idle timeout. With TLS (Floe's own CA), the
 * tunnel is checked the way remote-viewer checks it (CA, host-subject) and clear text is refused.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { waitUntil } from '../../test/wait-until';
import { ensureSpiceTls } from '../host/spice-tls';
import { parseSpiceLink, SPICE_LINK_BYTES, spiceChannelTypes } from './link-header';
import { createSpiceProxy, type SpiceProxyOptions, ticketFromAuthority } from './spice-proxy';

const TICKET = 'ab'.repeat(30);

/** A SPICE link message's first bytes (header + connection id, channel type and id). */
function link(channelType: number): Buffer {
  const bytes = Buffer.alloc(SPICE_LINK_BYTES);
  bytes.write('REDQ', 0, 'latin1');
  bytes.writeUInt32LE(2, 4);
  bytes.writeUInt8(channelType, 20);
  return bytes;
}

/** How the tests wait for what the proxy does in the background: a 5 ms poll, 5 s at most. */
const POLL = { timeoutMs: 5000, intervalMs: 5 };

const closed = (socket: net.Socket) => (socket.destroyed ? Promise.resolve() : once(socket, 'close').then(() => undefined));

async function listen(server: net.Server | http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Sends a CONNECT and resolves with the proxy's status line and the socket (tunnel if 200). */
async function connectThrough(proxyPort: number, authority: string): Promise<{ status: number; socket: net.Socket; rest: string }> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let text = '';
  while (!text.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    text += chunk.toString('latin1');
  }
  return { status: Number(text.split(' ')[1]), socket, rest: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

test('ticketFromAuthority reads only well-formed ticket host names', () => {
  assert.equal(ticketFromAuthority(`${TICKET}.console.floe:5900`), TICKET);
  assert.equal(ticketFromAuthority(`${TICKET}.console.floe`), undefined);
  assert.equal(ticketFromAuthority('127.0.0.1:22'), undefined);
  assert.equal(ticketFromAuthority(`${TICKET}.evil.example:5900`), undefined);
});

test('tunnels a resolved CONNECT both ways; refuses others without connecting', async (t) => {
  const connections: net.Socket[] = [];
  const desktop = net.createServer((socket) => {
    connections.push(socket);
    socket.on('data', (data) => socket.write(Buffer.concat([Buffer.from('echo:'), data])));
  });
  const desktopPort = await listen(desktop);
  const refusals: string[] = [];
  const ended: { sessionKey: string; bytesToDesktop: number; bytesToBrowser: number }[] = [];
  const proxy = createSpiceProxy({
    onSessionEnd: ({ sessionKey, bytesToDesktop, bytesToBrowser }) => ended.push({ sessionKey, bytesToDesktop, bytesToBrowser }),
    onRefusal: (status, reason) => refusals.push(`${status} ${reason}`),
    resolve: async (authority) =>
      ticketFromAuthority(authority) === TICKET
        ? { target: { host: '127.0.0.1', port: desktopPort }, sessionKey: 'session-1' }
        : { status: 401 as const, reason: 'console ticket unknown' },
  });
  const proxyPort = await listen(proxy.server);
  t.after(() => {
    void proxy.close();
    desktop.close();
    for (const c of connections) c.destroy();
  });

  const refused = await connectThrough(proxyPort, '127.0.0.1:22');
  assert.equal(refused.status, 401);
  assert.match(refused.rest, /console ticket unknown/);
  assert.equal(connections.length, 0, 'nothing was connected for a refused CONNECT');
  assert.deepEqual(refusals, ['401 console ticket unknown']);
  await closed(refused.socket);

  const tunnel = await connectThrough(proxyPort, `${TICKET}.console.floe:5900`);
  assert.equal(tunnel.status, 200);
  tunnel.socket.write(link(spiceChannelTypes.main));
  const [reply] = (await once(tunnel.socket, 'data')) as [Buffer];
  assert.equal(parseSpiceLink(reply.subarray(5))?.channelType, spiceChannelTypes.main);
  assert.equal(reply.subarray(0, 5).toString(), 'echo:');
  tunnel.socket.destroy();
  const deadline = Date.now() + 5000;
  while (ended.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(ended, [{ sessionKey: 'session-1', bytesToDesktop: 22, bytesToBrowser: 27 }], 'the session ends when its tunnel closes');
  refused.socket.destroy();

  const plain = await fetch(`http://127.0.0.1:${proxyPort}/`);
  assert.equal(plain.status, 405);
});

/** A proxy in front of a desktop that echoes; every tunnel's desktop side is kept. */
async function proxyAndDesktop(t: { after(fn: () => void): void }, options: Partial<SpiceProxyOptions> = {}) {
  const desktopSockets: net.Socket[] = [];
  const desktop = net.createServer((socket) => {
    desktopSockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', (data) => socket.write(data));
  });
  const desktopPort = await listen(desktop);
  const refusals: string[] = [];
  const ended: string[] = [];
  let mainOpen = false;
  const proxy = createSpiceProxy({
    onRefusal: (status, reason) => refusals.push(`${status} ${reason}`),
    onSessionEnd: (summary) => ended.push(summary.endReason),
    resolve: async () => ({
      target: { host: '127.0.0.1', port: desktopPort },
      sessionKey: 'session-1',
      admitChannel: (l) => {
        const isMain = l.channelType === spiceChannelTypes.main;
        if (!mainOpen && !isMain) return 'a console session starts with the main channel';
        if (mainOpen && isMain) return 'console ticket already used';
        mainOpen = true;
        return undefined;
      },
    }),
    ...options,
  });
  const port = await listen(proxy.server);
  t.after(() => {
    void proxy.close();
    desktop.close();
    for (const s of desktopSockets) s.destroy();
  });
  return { proxy, port, refusals, ended, desktopSockets };
}

async function tunnel(port: number, channelType: number): Promise<net.Socket> {
  const opened = await connectThrough(port, `${TICKET}.console.floe:5900`);
  assert.equal(opened.status, 200);
  opened.socket.write(link(channelType));
  return opened.socket;
}

test('channels are admitted like the relay: main first, a second main refused; the main tunnel ends the session', async (t) => {
  const { proxy, port, refusals, ended, desktopSockets } = await proxyAndDesktop(t);
  const display = await tunnel(port, spiceChannelTypes.display);
  await closed(display);
  assert.deepEqual(refusals, ['1008 a console session starts with the main channel']);
  assert.equal(desktopSockets.length, 0, 'a refused channel connects nothing');

  const main = await tunnel(port, spiceChannelTypes.main);
  await once(main, 'data');
  const inputs = await tunnel(port, spiceChannelTypes.inputs);
  await once(inputs, 'data');
  assert.deepEqual(proxy.activeSessions().map((s) => [s.sessionKey, s.channels]), [['session-1', 2]]);

  const replay = await tunnel(port, spiceChannelTypes.main);
  await closed(replay);
  assert.equal(refusals.at(-1), '1008 console ticket already used');
  assert.equal(main.destroyed, false, 'a refused second main channel leaves the live console alone');

  main.destroy();
  await closed(inputs);
  await waitUntil('the session end', () => ended.length === 1, POLL);
  assert.deepEqual(proxy.activeSessions(), []);
});

test('closeSession closes every tunnel of the session', async (t) => {
  const { proxy, port, ended } = await proxyAndDesktop(t);
  const main = await tunnel(port, spiceChannelTypes.main);
  await once(main, 'data');
  const display = await tunnel(port, spiceChannelTypes.display);
  await once(display, 'data');
  proxy.closeSession('session-1', 'signed-out');
  await Promise.all([closed(main), closed(display)]);
  await waitUntil('the session end', () => ended.length === 1, POLL);
  assert.deepEqual(ended, ['closed by server: signed-out']);
});

test('bounds: connections per address, a handshake deadline, an idle timeout', async (t) => {
  const { port } = await proxyAndDesktop(t, { maxConnectionsPerAddress: 2, handshakeTimeoutMs: 300, idleTimeoutMs: 400 });
  const a = net.connect(port, '127.0.0.1');
  const b = net.connect(port, '127.0.0.1');
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => {});
  await closed(c);
  // a and b said nothing: the handshake deadline drops them.
  await Promise.all([closed(a), closed(b)]);

  const idle = await tunnel(port, spiceChannelTypes.main);
  await once(idle, 'data');
  const started = Date.now();
  await closed(idle);
  assert.ok(Date.now() - started >= 300, 'the idle timeout, not the handshake deadline, closed the tunnel');
});

test('with TLS, the tunnel is a TLS server remote-viewer can check (Floe CA, host-subject); plain bytes are refused', async (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-spice-tls-'));
  t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
  const certificates = ensureSpiceTls(folder);
  const { port, refusals, desktopSockets } = await proxyAndDesktop(t, { tls: { key: certificates.key, cert: certificates.cert } });

  const opened = await connectThrough(port, `${TICKET}.console.floe:5901`);
  assert.equal(opened.status, 200);
  const secure = tls.connect({ socket: opened.socket, ca: certificates.ca, checkServerIdentity: () => undefined });
  await once(secure, 'secureConnect');
  assert.equal(secure.authorized, true, `the CA in the .vv verifies the proxy: ${secure.authorizationError ?? ''}`);
  assert.equal(`CN=${secure.getPeerCertificate().subject.CN}`, certificates.subject, 'host-subject matches');
  secure.write(link(spiceChannelTypes.main));
  const [echoed] = (await once(secure, 'data')) as [Buffer];
  assert.equal(parseSpiceLink(echoed)?.channelType, spiceChannelTypes.main, 'the link message went through, decrypted, to the desktop');
  assert.equal(desktopSockets.length, 1);
  secure.destroy();

  // A client that skips TLS sends a link message in clear: it never reaches a desktop.
  const plain = await connectThrough(port, `${TICKET}.console.floe:5901`);
  plain.socket.write(link(spiceChannelTypes.main));
  await closed(plain.socket);
  assert.equal(desktopSockets.length, 1, 'nothing was connected for the clear-text tunnel');
  await waitUntil('the refusal to be reported', () => refusals.length > 0, POLL);
  assert.deepEqual(refusals, ['400 TLS handshake failed']);

  // Files: the CA and keys are root's only, made once.
  for (const name of fs.readdirSync(certificates.folder)) assert.equal(fs.statSync(path.join(certificates.folder, name)).mode & 0o777, 0o600, name);
  assert.equal(fs.statSync(certificates.folder).mode & 0o777, 0o700);
  assert.equal(ensureSpiceTls(folder).ca, certificates.ca, 'the CA is kept across starts');
});
