/**
 * The SPICE CONNECT proxy over real sockets on port 0: a resolved CONNECT tunnels bytes both
 * ways; a refused one gets its HTTP status and nothing is connected; plain requests get 405.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { createSpiceProxy, ticketFromAuthority } from './spice-proxy';

const TICKET = 'ab'.repeat(30);

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
        ? { host: '127.0.0.1', port: desktopPort, sessionKey: 'session-1' }
        : { status: 401, reason: 'console ticket unknown' },
  });
  const proxyPort = await listen(proxy);
  t.after(() => {
    proxy.close();
    desktop.close();
    for (const c of connections) c.destroy();
  });

  const refused = await connectThrough(proxyPort, '127.0.0.1:22');
  assert.equal(refused.status, 401);
  assert.match(refused.rest, /console ticket unknown/);
  assert.equal(connections.length, 0, 'nothing was connected for a refused CONNECT');
  assert.deepEqual(refusals, ['401 console ticket unknown']);

  const tunnel = await connectThrough(proxyPort, `${TICKET}.console.floe:5900`);
  assert.equal(tunnel.status, 200);
  tunnel.socket.write('REDQ hello');
  const [reply] = (await once(tunnel.socket, 'data')) as [Buffer];
  assert.equal(reply.toString(), 'echo:REDQ hello');
  tunnel.socket.destroy();
  const deadline = Date.now() + 5000;
  while (ended.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(ended, [{ sessionKey: 'session-1', bytesToDesktop: 10, bytesToBrowser: 15 }], 'the session ends when its tunnel closes');
  refused.socket.destroy();

  const plain = await fetch(`http://127.0.0.1:${proxyPort}/`);
  assert.equal(plain.status, 405);
});
