/**
 * The request guard in front of Next.js: malformed URLs, oversized or unsized bodies and
 * forwarded headers from untrusted peers, checked on a real HTTP server on port 0.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { type TestContext, test } from 'node:test';
import { isWellFormedUrl, guardRequest, MAX_REQUEST_BODY_BYTES } from './request-guard';

/**
 * A server on port 0 whose app, behind the guard, reads the body and answers "app"; the headers
 * of each request that reached the app go to `seen`. Returns its port.
 */
async function guardedServer(t: TestContext, trusted: () => Set<string>, seen: http.IncomingHttpHeaders[]): Promise<number> {
  const server = http.createServer((req, res) => {
    if (!guardRequest(req, res, trusted())) return;
    seen.push({ ...req.headers });
    req.resume();
    req.on('end', () => res.end('app'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

test('URLs with broken %-encoding or control characters are not well formed', () => {
  for (const url of ['/api/desktops/%FF', '/api/desktops/%', '/desktops/%E0%A4%A', '/api/auth/error?error=%00', '/a%0Ab', '/x?q=%ZZ']) {
    assert.equal(isWellFormedUrl(url), false, url);
  }
  for (const url of ['/', '/api/desktops/abc-123', '/desktops/caf%C3%A9', '/login?callbackUrl=%2Fdesktops', '/x?q=a+b&r=', '/api/auth/error?error=OAuthSignin']) {
    assert.equal(isWellFormedUrl(url), true, url);
  }
});

test('the guard answers 400/411/413 before the app, and drops forwarded Host headers from untrusted peers', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  let trusted = new Set<string>();
  const port = await guardedServer(t, () => trusted, seen);
  const send = (path: string, options: http.RequestOptions = {}, body?: string | string[]) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, ...options }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      if (Array.isArray(body)) for (const chunk of body) req.write(chunk);
      else if (body !== undefined) req.write(body);
      req.end();
    });

  assert.equal(await send('/api/desktops/%FF'), 400);
  assert.equal(await send('/api/auth/error?error=%00'), 400);
  const tooLong = 'x'.repeat(MAX_REQUEST_BODY_BYTES + 1);
  assert.equal(await send('/api/desktops', { method: 'POST', headers: { 'Content-Length': String(tooLong.length) } }, tooLong), 413);
  assert.equal(await send('/api/desktops', { method: 'POST' }, ['{"a":', '1}']), 411, 'a chunked body');
  assert.equal(seen.length, 0, 'none of those reached the app');

  assert.equal(await send('/api/desktops', { method: 'POST', headers: { 'Content-Length': '2' } }, '{}'), 200);
  assert.equal(await send('/', { headers: { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' } }), 200);
  assert.equal(seen.at(-1)?.['x-forwarded-host'], undefined, 'an untrusted client does not choose the host');
  trusted = new Set(['127.0.0.1']);
  assert.equal(await send('/', { headers: { 'X-Forwarded-Host': 'portal.example' } }), 200);
  assert.equal(seen.at(-1)?.['x-forwarded-host'], 'portal.example', 'a trusted proxy does');
});

test('a client still sending a refused body reads the 413 and keeps its connection; a huge one is closed', async (t) => {
  const socket = net.connect(await guardedServer(t, () => new Set(), []), '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  let received = '';
  let ended = false;
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('end', () => (ended = true));
  socket.on('error', () => (ended = true));
  const until = async (what: string, check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(check(), `${what}; received: ${received.slice(0, 300)}`);
  };

  // 1 MiB declared: the answer comes before the body is sent, as a browser's upload would see it.
  const size = 1024 * 1024;
  socket.write(`POST /api/desktops HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
  await until('the 413 arrives', () => received.includes('larger than'));
  assert.match(received, /^HTTP\/1\.1 413 /);
  assert.doesNotMatch(received, /connection: close/i);
  // The body still goes out, and is read: the same connection then serves the next request.
  await new Promise<void>((resolve, reject) => socket.write(Buffer.alloc(size, 0x61), (error) => (error ? reject(error) : resolve())));
  received = '';
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('the next request on the connection is answered', () => received.endsWith('app'));
  assert.match(received, /^HTTP\/1\.1 200 /);
  assert.equal(ended, false);

  // Far too much declared: answered, then closed (nothing reads gigabytes to be polite).
  received = '';
  socket.write('POST /api/desktops HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n');
  await until('the 413 arrives and the connection closes', () => ended);
  assert.match(received, /^HTTP\/1\.1 413 [\s\S]*connection: close/i);
});
