/**
 * Console tickets against a real database (SQLite, or PostgreSQL with FLOE_TEST_DATABASE_URL)
 * and the fake hypervisor: who may get one, that each sets a fresh SPICE password, and every
 * refusal (missing, unknown, expired, other origin, desktop not running); the first connection
 * claims the ticket and later ones join its session.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import pino from 'pino';
import { type FloeDatabase } from '../db/database';
import { openTestDatabase } from '../db/test-database';
import { FakeHypervisor } from '../hypervisor/fake/fake-hypervisor';
import { Broker } from './broker';
import { ConsoleSessions } from './console-sessions';
import { ConsoleTickets } from './console-tickets';
import { PoolDefinitionSchema } from './pools';

const ORIGIN = 'http://127.0.0.1:3000';
let database: FloeDatabase | undefined;
afterEach(async () => {
  await database?.close();
  database = undefined;
});

async function setup() {
  const opened = await openTestDatabase();
  database = opened;
  const hypervisor = new FakeHypervisor();
  const sessions = new ConsoleSessions(database.db);
  const broker = new Broker({ db: database.db, engine: database.engine, hypervisor, sessions, imageDir: opened.dataDir, log: pino({ level: 'silent' }) });
  await broker.definePools([PoolDefinitionSchema.parse({ name: 'p', title: 'P', kind: 'persistent', template: 'demo' })]);
  const tickets = new ConsoleTickets(database.db, hypervisor, sessions);
  const desktop = await broker.assignDesktop('alice', 'p');
  await broker.settle();
  return { database: opened, hypervisor, broker, tickets, sessions, desktop };
}

test('a ticket sets a fresh SPICE password and opens one session: main first, then its channels', async () => {
  const t = await setup();
  const issued = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  assert.equal(t.hypervisor.passwordOf(t.desktop.id), issued.password);
  assert.ok(issued.password.length <= 59 && /^[\x21-\x7e]+$/.test(issued.password));
  assert.ok(issued.expiresAt > Date.now() && issued.expiresAt <= Date.now() + 60_000);

  const first = await t.tickets.check(issued.ticket, ORIGIN, { address: '10.0.0.5', userAgent: 'Test/1.0' });
  assert.ok(first.ok);
  const [open] = await t.sessions.openOn(t.desktop.id);
  assert.equal(open?.client_address, '10.0.0.5');
  assert.equal(open?.user_agent, 'Test/1.0');
  assert.deepEqual(await t.sessions.activity(t.desktop.id), { open: 1, lastEndedAt: undefined });
  assert.equal(first.firstChannel, true);
  assert.equal(first.userId, 'alice');
  const second = await t.tickets.check(issued.ticket, ORIGIN);
  assert.ok(second.ok);
  assert.equal(second.firstChannel, false, 'later connections join the session, they cannot start one');
  assert.equal(second.sessionKey, first.sessionKey);
  assert.equal((await t.sessions.openOn(t.desktop.id)).length, 1, 'joining channels do not begin sessions');
  await t.sessions.end({ sessionKey: first.sessionKey, endedAt: 1234, bytesToDesktop: 10, bytesToBrowser: 20, endReason: 'browser closed' });
  assert.deepEqual(await t.sessions.activity(t.desktop.id), { open: 0, lastEndedAt: 1234 });
  assert.deepEqual(await t.sessions.openOn(t.desktop.id), []);

  const again = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  assert.notEqual(again.password, issued.password);
  assert.notEqual(again.ticket, issued.ticket);
});

test('refusals: missing, unknown, other origin, expired, desktop not running', async () => {
  const t = await setup();
  assert.deepEqual(await t.tickets.check(null, ORIGIN), { ok: false, status: 401, reason: 'console ticket missing' });
  assert.deepEqual(await t.tickets.check('bogus', ORIGIN), { ok: false, status: 401, reason: 'console ticket unknown' });
  const issued = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  assert.deepEqual(await t.tickets.check(issued.ticket, 'http://evil.example'), {
    ok: false,
    status: 403,
    reason: 'console ticket issued to another origin',
  });
  assert.deepEqual(await t.tickets.check(issued.ticket, undefined), {
    ok: false,
    status: 403,
    reason: 'console ticket issued to another origin',
  });
  await t.database.db.updateTable('console_tickets').set({ expires_at: Date.now() - 1 }).execute();
  assert.deepEqual(await t.tickets.check(issued.ticket, ORIGIN), { ok: false, status: 401, reason: 'console ticket expired' });

  const fresh = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  await t.broker.stopDesktop(t.desktop.id);
  assert.deepEqual(await t.tickets.check(fresh.ticket, ORIGIN), { ok: false, status: 404, reason: 'desktop not running' });
});

test('only the desktop owner gets a ticket, and only for a running desktop', async () => {
  const t = await setup();
  await assert.rejects(t.tickets.issue({ userId: 'bob', desktopId: t.desktop.id, origin: ORIGIN }), /does not exist or is not yours/);
  await assert.rejects(t.tickets.issue({ userId: 'alice', desktopId: 'no-such-desktop', origin: ORIGIN }));
  await t.broker.stopDesktop(t.desktop.id);
  await assert.rejects(t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN }), /it is stopped/);
});

test('a new console session takes the desktop over; the records say who and when', async () => {
  const t = await setup();
  await t.database.db
    .insertInto('users')
    .values([
      { id: 'alice', name: 'alice', display_name: 'Alice Martin', password_hash: null, role: 'user', disabled: 0, created_at: 0 },
      { id: 'helen', name: 'helen', display_name: 'Helen Okafor', password_hash: null, role: 'helpdesk', disabled: 0, created_at: 0 },
    ])
    .execute();
  const first = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  const firstCheck = await t.tickets.check(first.ticket, ORIGIN);
  assert.ok(firstCheck.ok);
  assert.deepEqual(firstCheck.takenOver, []);
  assert.equal(firstCheck.sessionKey, first.sessionId);

  await assert.rejects(t.tickets.issue({ userId: 'helen', desktopId: t.desktop.id, origin: ORIGIN }), /not yours/);
  const helpdesk = await t.tickets.issue({ userId: 'helen', desktopId: t.desktop.id, origin: ORIGIN, onBehalf: true });
  const helpdeskCheck = await t.tickets.check(helpdesk.ticket, ORIGIN);
  assert.ok(helpdeskCheck.ok, 'a helpdesk ticket opens the owner’s desktop');
  assert.deepEqual(helpdeskCheck.takenOver, [first.sessionId]);
  const ended = await t.sessions.get(first.sessionId);
  assert.equal(ended?.end_reason, 'taken over');
  assert.equal(ended?.taken_over_by, 'Helpdesk (Helen Okafor)');
  assert.ok(ended?.ended_at);

  // The relay's end summary keeps the takeover as the reason but records the bytes.
  await t.sessions.end({ sessionKey: first.sessionId, endedAt: Date.now(), bytesToDesktop: 7, bytesToBrowser: 9, endReason: 'closed by server: taken over' });
  const summarized = await t.sessions.get(first.sessionId);
  assert.equal(summarized?.end_reason, 'taken over');
  assert.equal(summarized?.bytes_to_browser, 9);

  // The sweep: a live relay session whose record ended is closed; a stopped desktop closes the rest.
  assert.deepEqual(await t.sessions.toClose([first.sessionId, helpdesk.sessionId]), [{ id: first.sessionId, reason: 'taken over' }]);
  await t.broker.stopDesktop(t.desktop.id);
  assert.deepEqual(await t.sessions.toClose([helpdesk.sessionId]), [{ id: helpdesk.sessionId, reason: 'desktop stopped' }]);
  assert.deepEqual(await t.sessions.openOn(t.desktop.id), []);
});

test('a console whose sign-in ended is closed by the sweep', async () => {
  const t = await setup();
  const now = Date.now();
  await t.database.db
    .insertInto('sign_in_sessions')
    .values({ id: 'signin-1', user_id: 'alice', method: 'password', client_address: null, user_agent: null, started_at: now, last_seen_at: now, expires_at: now + 3_600_000, ended_at: null, end_reason: null })
    .execute();
  const issued = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN, signInSessionId: 'signin-1' });
  assert.ok((await t.tickets.check(issued.ticket, ORIGIN)).ok);
  assert.deepEqual(await t.sessions.toClose([issued.sessionId]), [], 'the sign-in is live');
  await t.database.db.updateTable('sign_in_sessions').set({ ended_at: Date.now(), end_reason: 'signed out' }).execute();
  assert.deepEqual(await t.sessions.toClose([issued.sessionId]), [{ id: issued.sessionId, reason: 'signed out' }]);
  assert.equal((await t.sessions.get(issued.sessionId))?.end_reason, 'signed out');
});
