/**
 * The console upgrade's sign-in check and the client address stamp, with real next-auth
 * session cookies (encrypted JWTs made with next-auth's own encoder) and a real database: a
 * live session of an enabled user passes; no cookie, a forged or foreign-key cookie, an ended
 * session and a disabled user are refused. The client address replaces whatever the client
 * claimed, and trusted proxies are looked through.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { encode } from 'next-auth/jwt';
import type { FloeDatabase } from '../db/database';
import { Accounts } from './accounts';
import { CLIENT_ADDRESS_HEADER, clientAddressFromHeaders, clientAddressOfRequest, normalAddress, stampClientAddress } from './client-address';
import { consoleAccess, parseCookies, sessionTokenOf } from './console-access';
import { signInServices } from './services';
import { freshDatabase } from './testing';

const SECRET = 'test-secret-for-console-access';

function upgrade(headers: Record<string, string>, remoteAddress = '127.0.0.1'): IncomingMessage {
  return { headers, url: '/console/ws', socket: { remoteAddress } } as unknown as IncomingMessage;
}

function upgradeTo(url: string, cookie: string): IncomingMessage {
  return { headers: { cookie: `next-auth.session-token=${cookie}` }, url, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

describe('console access from the session cookie', () => {
  let database: FloeDatabase;
  let userId: string;
  before(async () => {
    database = await freshDatabase();
    userId = (await new Accounts(database.db).addUser({ name: 'alice', password: 'alice-password' })).id;
  });
  after(async () => {
    await database.close();
  });

  async function cookieFor(sessionId: string, uid = userId, secret = SECRET) {
    return encode({ token: { uid, sid: sessionId, name: 'alice' }, secret });
  }

  test('a live session of an enabled user passes, under either cookie name', async () => {
    const { id } = await signInServices(database.db).sessions.start({ userId, method: 'password' });
    const token = await cookieFor(id);
    for (const name of ['next-auth.session-token', '__Secure-next-auth.session-token']) {
      const access = await consoleAccess(upgrade({ cookie: `other=1; ${name}=${token}` }), database.db, SECRET);
      assert.deepEqual(access, { ok: true, userId, name: 'alice', role: 'user' });
    }
  });

  test('refused: no cookie, another key, another user, an ended session, a disabled user', async () => {
    const { sessions } = signInServices(database.db);
    const { id } = await sessions.start({ userId, method: 'password' });
    const good = await cookieFor(id);
    const refused = async (headers: Record<string, string>) => {
      const access = await consoleAccess(upgrade(headers), database.db, SECRET);
      assert.equal(access.ok, false, JSON.stringify(headers).slice(0, 80));
      return access.ok ? '' : access.reason;
    };
    assert.equal(await refused({}), 'not signed in');
    assert.equal(await refused({ cookie: 'next-auth.session-token=garbage' }), 'not signed in');
    assert.equal(await refused({ cookie: `next-auth.session-token=${await cookieFor(id, userId, 'another secret')}` }), 'not signed in');
    assert.equal(await refused({ cookie: `next-auth.session-token=${await cookieFor(id, 'someone-else')}` }), 'sign-in session ended');

    await new Accounts(database.db).setDisabled('alice', true);
    assert.equal(await refused({ cookie: `next-auth.session-token=${good}` }), 'account disabled');
    await new Accounts(database.db).setDisabled('alice', false);

    await sessions.end(id);
    assert.equal(await refused({ cookie: `next-auth.session-token=${good}` }), 'sign-in session ended');
  });

  test('a ticket issued to someone else is refused before it is claimed', async () => {
    const bobId = (await new Accounts(database.db).addUser({ name: 'bob', password: 'bob-password' })).id;
    const { sessions } = signInServices(database.db);
    const bobCookie = await encode({ token: { uid: bobId, sid: (await sessions.start({ userId: bobId, method: 'password' })).id }, secret: SECRET });
    const aliceCookie = await cookieFor((await sessions.start({ userId, method: 'password' })).id);
    const ticket = 'alices-ticket-0123456789';
    await database.db
      .insertInto('console_tickets')
      .values({ id: createHash('sha256').update(ticket).digest('hex'), user_id: userId, desktop_id: 'd1', origin: 'http://x', expires_at: Date.now() + 60_000, session_started_at: null, created_at: Date.now() })
      .execute();
    const at = (cookie: string, t: string) => upgradeTo(`/console/ws?ticket=${t}`, cookie);
    assert.deepEqual(await consoleAccess(at(bobCookie, ticket), database.db, SECRET), { ok: false, status: 403, reason: 'console ticket belongs to another user' });
    assert.equal((await consoleAccess(at(aliceCookie, ticket), database.db, SECRET)).ok, true);
    assert.equal((await consoleAccess(at(bobCookie, 'unknown-ticket'), database.db, SECRET)).ok, true, 'unknown tickets are left to the ticket check');
    const row = await database.db.selectFrom('console_tickets').select('session_started_at').executeTakeFirstOrThrow();
    assert.equal(row.session_started_at, null, 'not claimed');
  });

  test('a cookie split in chunks is put back together', () => {
    const cookies = parseCookies('next-auth.session-token.1=world; next-auth.session-token.0=hello%20; x=y');
    assert.equal(sessionTokenOf(cookies), 'hello world');
    assert.equal(sessionTokenOf(parseCookies('x=y')), undefined);
  });
});

describe('client address', () => {
  test('the stamp replaces what the client claimed', () => {
    const req = upgrade({ [CLIENT_ADDRESS_HEADER]: '10.9.9.9', 'x-forwarded-for': '10.8.8.8' }, '::ffff:192.0.2.44');
    stampClientAddress(req);
    assert.equal(req.headers[CLIENT_ADDRESS_HEADER], '192.0.2.44');
    assert.equal(clientAddressFromHeaders(req.headers as Record<string, string>), '192.0.2.44');
    assert.equal(clientAddressFromHeaders(new Headers({ [CLIENT_ADDRESS_HEADER]: '192.0.2.44' })), '192.0.2.44');
  });

  test('through trusted proxies, the right-most untrusted hop', () => {
    const proxies = new Set(['127.0.0.1', '10.0.0.2']);
    const via = (xff: string, remote = '127.0.0.1') => clientAddressOfRequest(upgrade({ 'x-forwarded-for': xff }, remote), proxies);
    assert.equal(via('203.0.113.5'), '203.0.113.5');
    assert.equal(via('6.6.6.6, 203.0.113.5, 10.0.0.2'), '203.0.113.5', 'a spoofed left-most entry is ignored');
    assert.equal(via('203.0.113.5', '198.51.100.1'), '198.51.100.1', 'an untrusted peer is the client');
    assert.equal(via(''), '127.0.0.1');
    assert.equal(normalAddress('  ::1 '), '::1');
    assert.equal(normalAddress(''), null);
  });
});
