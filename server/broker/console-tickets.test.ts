/**
 * Console tickets against a real database (SQLite, or PostgreSQL with FLOE_TEST_DATABASE_URL)
 * and the fake hypervisor: who may get one, that each sets a fresh SPICE password, and every
 * refusal (missing, unknown, expired, other origin, desktop not running); a ticket is claimed
 * once; issuance is limited per person; the session records' takeover and sweep rules.
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
  const tickets = new ConsoleTickets(database.db, hypervisor);
  const desktop = await broker.assignDesktop('alice', 'p');
  await broker.settle();
  return { database: opened, hypervisor, broker, tickets, sessions, desktop };
}

/** Alice (a user) and Helen (helpdesk), whose names the takeover records and the sweep read. */
async function addAliceAndHelen(db: FloeDatabase): Promise<void> {
  await db.db
    .insertInto('users')
    .values([
      { id: 'alice', name: 'alice', display_name: 'Alice Martin', password_hash: null, role: 'user', disabled: 0, created_at: 0 },
      { id: 'helen', name: 'helen', display_name: 'Helen Okafor', password_hash: null, role: 'helpdesk', disabled: 0, created_at: 0 },
    ])
    .execute();
}

test('a ticket sets a fresh SPICE password and opens one session: main first, then its channels', async () => {
  const t = await setup();
  const issued = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  assert.equal(t.hypervisor.passwordOf(t.desktop.id), issued.password);
  assert.ok(issued.password.length <= 59 && /^[\x21-\x7e]+$/.test(issued.password));
  assert.ok(issued.expiresAt > Date.now() && issued.expiresAt <= Date.now() + 60_000);

  const first = await t.tickets.inspect(issued.ticket, ORIGIN);
  assert.ok(first.ok);
  assert.equal(first.claimed, false);
  assert.equal(first.userId, 'alice');
  assert.equal(first.id, issued.sessionId);
  assert.deepEqual(await t.sessions.openOn(t.desktop.id), [], 'looking at a ticket begins nothing');
  assert.equal(await t.tickets.claim(first.id), true);
  assert.equal(await t.tickets.claim(first.id), false, 'a ticket is claimed once');
  const second = await t.tickets.inspect(issued.ticket, ORIGIN);
  assert.ok(second.ok);
  assert.equal(second.claimed, true);

  await t.sessions.begin({ id: first.id, desktopId: t.desktop.id, userId: 'alice', clientAddress: '10.0.0.5', userAgent: 'Test/1.0' });
  const [open] = await t.sessions.openOn(t.desktop.id);
  assert.equal(open?.client_address, '10.0.0.5');
  assert.equal(open?.user_agent, 'Test/1.0');
  assert.deepEqual(await t.sessions.activity(t.desktop.id), { open: 1, lastEndedAt: undefined });
  await t.sessions.end({ sessionKey: first.id, endedAt: 1234, bytesToDesktop: 10, bytesToBrowser: 20, endReason: 'client-closed' });
  assert.deepEqual(await t.sessions.activity(t.desktop.id), { open: 0, lastEndedAt: 1234 });
  assert.deepEqual(await t.sessions.openOn(t.desktop.id), []);

  const again = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  assert.notEqual(again.password, issued.password);
  assert.notEqual(again.ticket, issued.ticket);
});

test('refusals: missing, unknown, other origin, expired, desktop not running', async () => {
  const t = await setup();
  assert.deepEqual(await t.tickets.inspect(null, ORIGIN), { ok: false, status: 401, reason: 'console ticket missing' });
  assert.deepEqual(await t.tickets.inspect('bogus', ORIGIN), { ok: false, status: 401, reason: 'console ticket unknown' });
  const issued = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  assert.deepEqual(await t.tickets.inspect(issued.ticket, 'http://evil.example'), {
    ok: false,
    status: 403,
    reason: 'console ticket issued to another origin',
  });
  assert.deepEqual(await t.tickets.inspect(issued.ticket, undefined), {
    ok: false,
    status: 403,
    reason: 'console ticket issued to another origin',
  });
  await t.database.db.updateTable('console_tickets').set({ expires_at: Date.now() - 1 }).execute();
  assert.deepEqual(await t.tickets.inspect(issued.ticket, ORIGIN), { ok: false, status: 401, reason: 'console ticket expired' });

  const fresh = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  await t.broker.stopDesktop(t.desktop.id);
  assert.deepEqual(await t.tickets.inspect(fresh.ticket, ORIGIN), { ok: false, status: 404, reason: 'desktop not running' });
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
  await addAliceAndHelen(t.database);
  const first = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  assert.deepEqual(await t.sessions.begin({ id: first.sessionId, desktopId: t.desktop.id, userId: 'alice' }), []);

  await assert.rejects(t.tickets.issue({ userId: 'helen', desktopId: t.desktop.id, origin: ORIGIN }), /not yours/);
  const helpdesk = await t.tickets.issue({ userId: 'helen', desktopId: t.desktop.id, origin: ORIGIN, onBehalf: true });
  assert.ok((await t.tickets.inspect(helpdesk.ticket, ORIGIN)).ok, 'a helpdesk ticket opens the owner’s desktop');
  assert.deepEqual(await t.sessions.begin({ id: helpdesk.sessionId, desktopId: t.desktop.id, userId: 'helen' }), [first.sessionId]);
  const ended = await t.sessions.get(first.sessionId);
  assert.equal(ended?.end_reason, 'taken-over');
  assert.equal(ended?.taken_over_by, 'Helpdesk (Helen Okafor)');
  assert.ok(ended?.ended_at);

  // The relay's end summary keeps the takeover as the reason but records the bytes.
  await t.sessions.end({ sessionKey: first.sessionId, endedAt: Date.now(), bytesToDesktop: 7, bytesToBrowser: 9, endReason: 'client-closed' });
  const summarized = await t.sessions.get(first.sessionId);
  assert.equal(summarized?.end_reason, 'taken-over');
  assert.equal(summarized?.bytes_to_browser, 9);

  // The sweep: a live relay session whose record ended is closed; a stopped desktop closes the rest.
  assert.deepEqual(await t.sessions.toClose([first.sessionId, helpdesk.sessionId]), [{ id: first.sessionId, reason: 'taken-over' }]);
  await t.broker.stopDesktop(t.desktop.id);
  assert.deepEqual(await t.sessions.toClose([helpdesk.sessionId]), [{ id: helpdesk.sessionId, reason: 'desktop-stopped' }]);
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
  await t.database.db
    .insertInto('users')
    .values({ id: 'alice', name: 'alice', display_name: 'Alice Martin', password_hash: null, role: 'user', disabled: 0, created_at: 0 })
    .execute();
  await t.sessions.begin({ id: issued.sessionId, desktopId: t.desktop.id, userId: 'alice', signInSessionId: 'signin-1' });
  assert.deepEqual(await t.sessions.toClose([issued.sessionId]), [], 'the sign-in is live');
  await t.database.db.updateTable('sign_in_sessions').set({ ended_at: Date.now(), end_reason: 'signed out' }).execute();
  assert.deepEqual(await t.sessions.toClose([issued.sessionId]), [{ id: issued.sessionId, reason: 'signed-out' }]);
  assert.equal((await t.sessions.get(issued.sessionId))?.end_reason, 'signed-out');
});

test('issuing is limited per person: the next ticket in the same minute is a 429', async () => {
  const t = await setup();
  const limited = new ConsoleTickets(t.database.db, t.hypervisor, { ticketsPerMinute: 3 });
  for (let i = 0; i < 3; i++) await limited.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  const passwordBefore = t.hypervisor.passwordOf(t.desktop.id);
  await assert.rejects(limited.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN }), (error: Error & { status?: number }) => error.status === 429 && /wait a minute/.test(error.message));
  assert.equal(t.hypervisor.passwordOf(t.desktop.id), passwordBefore, 'a refused ticket does not rotate the SPICE password');
  await t.database.db.updateTable('console_tickets').set({ created_at: Date.now() - 61_000 }).execute();
  await limited.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
});

test('the sweep closes consoles whose access was revoked: disabled, demoted helpdesk, helpdesk on staff', async () => {
  const t = await setup();
  await addAliceAndHelen(t.database);
  const helpdesk = await t.tickets.issue({ userId: 'helen', desktopId: t.desktop.id, origin: ORIGIN, onBehalf: true });
  await t.sessions.begin({ id: helpdesk.sessionId, desktopId: t.desktop.id, userId: 'helen' });
  assert.deepEqual(await t.sessions.toClose([helpdesk.sessionId]), [], 'the helpdesk on a person’s desktop');
  await t.database.db.updateTable('users').set({ role: 'user' }).where('id', '=', 'helen').execute();
  assert.deepEqual(await t.sessions.toClose([helpdesk.sessionId]), [{ id: helpdesk.sessionId, reason: 'access-revoked' }], 'demoted');

  await t.database.db.updateTable('users').set({ role: 'helpdesk' }).where('id', '=', 'helen').execute();
  await t.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', 'alice').execute();
  const again = await t.tickets.issue({ userId: 'helen', desktopId: t.desktop.id, origin: ORIGIN, onBehalf: true });
  await t.sessions.begin({ id: again.sessionId, desktopId: t.desktop.id, userId: 'helen' });
  assert.deepEqual(await t.sessions.toClose([again.sessionId]), [{ id: again.sessionId, reason: 'access-revoked' }], 'helpdesk on an admin’s desktop');

  const own = await t.tickets.issue({ userId: 'alice', desktopId: t.desktop.id, origin: ORIGIN });
  await t.sessions.begin({ id: own.sessionId, desktopId: t.desktop.id, userId: 'alice' });
  assert.deepEqual(await t.sessions.toClose([own.sessionId]), []);
  await t.database.db.updateTable('users').set({ disabled: 1 }).where('id', '=', 'alice').execute();
  assert.deepEqual(await t.sessions.toClose([own.sessionId]), [{ id: own.sessionId, reason: 'access-revoked' }], 'disabled');
});
