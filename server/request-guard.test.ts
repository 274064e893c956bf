/**
 * The request guard in front of Next.js: malformed URLs, oversized or unsized bodies and
 * forwarded headers from untrusted peers, checked on a real HTTP server on port 0.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { isWellFormedUrl, guardRequest, MAX_REQUEST_BODY_BYTES } from './request-guard';

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
  const server = http.createServer((req, res) => {
    if (!guardRequest(req, res, trusted)) return;
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
  const port = (server.address() as net.AddressInfo).port;
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
  assert.equal(await send('/api/desktops', { method: 'POST', headers: { 'Content-Length': String(MAX_REQUEST_BODY_BYTES + 1) } }), 413);
  assert.equal(await send('/api/desktops', { method: 'POST' }, ['{"a":', '1}']), 411, 'a chunked body');
  assert.equal(seen.length, 0, 'none of those reached the app');

  assert.equal(await send('/api/desktops', { method: 'POST', headers: { 'Content-Length': '2' } }, '{}'), 200);
  assert.equal(await send('/', { headers: { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' } }), 200);
  assert.equal(seen.at(-1)?.['x-forwarded-host'], undefined, 'an untrusted client does not choose the host');
  trusted = new Set(['127.0.0.1']);
  assert.equal(await send('/', { headers: { 'X-Forwarded-Host': 'portal.example' } }), 200);
  assert.equal(seen.at(-1)?.['x-forwarded-host'], 'portal.example', 'a trusted proxy does');
});
