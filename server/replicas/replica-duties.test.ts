/**
 * Replicas sharing one database, on the real database (SQLite here, PostgreSQL in its stage):
 * a replica's start ends only the consoles it relayed; the lease holder adopts the VMs once per
 * taking of the lease and ends the consoles of replicas that fell silent; on PostgreSQL the
 * reconcile lease is one advisory lock that only one replica holds and that passes on when its
 * holder lets go. Two real servers are tested in test/two-replicas.postgres.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ConsoleSessions } from '../broker/console-sessions';
import { openTestDatabase } from '../db/test-database';
import { LEASE_SILENCE_MS, type ReconcileLease, reconcileLease } from './reconcile-lease';
import { REPLICA_SILENCE_MS, ReplicaDuties } from './replica-duties';

const log = pino({ level: 'silent' });

async function withConsoles() {
  const database = await openTestDatabase();
  await database.db
    .insertInto('users')
    .values({ id: 'alice', name: 'alice', display_name: 'Alice Martin', password_hash: null, role: 'user', disabled: 0, created_at: 0 })
    .execute();
  const on = (replica: string | null) => new ConsoleSessions(database.db, replica);
  await on('a').begin({ id: 'by-a', desktopId: 'd1', userId: 'alice' });
  await on('b').begin({ id: 'by-b', desktopId: 'd2', userId: 'alice' });
  await on(null).begin({ id: 'by-nobody', desktopId: 'd3', userId: 'alice' });
  const open = async () => (await database.db.selectFrom('console_sessions').select('id').where('ended_at', 'is', null).orderBy('id').execute()).map((r) => r.id);
  return { database, on, open };
}

test("a replica's start ends its own consoles and those of no replica, not another replica's", async (t) => {
  const { database, on, open } = await withConsoles();
  t.after(() => database.close());
  assert.equal(await on('a').endOpenRelayedHere('floe-stopped'), 2);
  assert.deepEqual(await open(), ['by-b']);
  const row = await database.db.selectFrom('console_sessions').selectAll().where('id', '=', 'by-a').executeTakeFirstOrThrow();
  assert.equal(row.end_reason, 'floe-stopped');
  assert.equal(row.relayed_by, 'a');
});

test('the lease holder adopts once per taking of the lease and ends the consoles of a silent replica', async (t) => {
  const { database, on, open } = await withConsoles();
  t.after(() => database.close());
  let held = true;
  let recovered = 0;
  let seenLive: ReadonlySet<string> | undefined;
  const lease: ReconcileLease = { tryHold: async () => held, release: async () => undefined };
  const recover = async (live: ReadonlySet<string>) => {
    recovered++;
    seenLive = live;
  };
  const duties = new ReplicaDuties({ db: database.db, replicaId: 'a', lease, sessions: on('a'), recover, log });
  // Replica b was last heard of long ago; c just now.
  const now = Date.now();
  await database.db.insertInto('replicas').values([
    { id: 'b', started_at: 0, seen_at: now - REPLICA_SILENCE_MS - 1000, holds_lease: 0 },
    { id: 'c', started_at: 0, seen_at: now + 60_000, holds_lease: 0 },
  ]).execute();
  await on('c').begin({ id: 'by-c', desktopId: 'd4', userId: 'alice' });

  await duties.tick();
  assert.equal(duties.holdsLease(), true);
  assert.equal(recovered, 1);
  assert.deepEqual([...seenLive!], ['c'], "recovery leaves the live replica c's desktops alone");
  assert.deepEqual(await open(), ['by-a', 'by-c', 'by-nobody'], "b's console is ended, c's (alive) is not");
  const heartbeat = await database.db.selectFrom('replicas').selectAll().where('id', '=', 'a').executeTakeFirstOrThrow();
  assert.equal(heartbeat.holds_lease, 1);

  await duties.tick();
  assert.equal(recovered, 1, 'keeping the lease adopts nothing again');
  held = false;
  await duties.tick();
  assert.equal(duties.holdsLease(), false);
  held = true;
  await duties.tick();
  assert.equal(recovered, 2, 'taking the lease again adopts the VMs again');

  // A desktop the silent replica b was driving is adopted by the holder at its next tick.
  await database.db
    .insertInto('desktops')
    .values({
      id: 'orphan', pool_name: 'p', state: 'assigned', user_id: 'alice', failure_reason: null, pid: 1, spice_host: null, spice_port: 5900,
      accelerator: 'tcg', created_at: 0, state_changed_at: 0, booted_at: 0, assigned_at: 0, template_version: 1, driven_by: 'b',
    })
    .execute();
  await duties.tick();
  assert.equal(recovered, 3, "the silent replica's desktops are adopted");
});

test('a lease whose adoption fails is let go and taken again later', async (t) => {
  const { database, on } = await withConsoles();
  t.after(() => database.close());
  let released = 0;
  let fail = true;
  const lease: ReconcileLease = { tryHold: async () => true, release: async () => void released++ };
  const recover = async () => {
    if (fail) throw new Error('cannot tell which VMs run');
  };
  const duties = new ReplicaDuties({ db: database.db, replicaId: 'a', lease, sessions: on('a'), recover, log });
  await duties.tick();
  assert.equal(duties.holdsLease(), false, 'no reconciling before the VMs are adopted');
  assert.equal(released, 1);
  fail = false;
  await duties.tick();
  assert.equal(duties.holdsLease(), true);
});

test('the reconcile lease: one holder on PostgreSQL, passed on when it lets go; always held on SQLite', async (t) => {
  const database = await openTestDatabase();
  t.after(() => database.close());
  const url = process.env.FLOE_TEST_DATABASE_URL || undefined;
  const first = reconcileLease(database.engine, url, 'first');
  const second = reconcileLease(database.engine, url, 'second');
  t.after(async () => {
    await first.release();
    await second.release();
  });
  assert.equal(await first.tryHold(), true);
  if (database.engine === 'sqlite') {
    assert.equal(await second.tryHold(), true, 'one replica is assumed on SQLite');
    return;
  }
  assert.equal(await second.tryHold(), false, 'the second replica waits');
  assert.equal(await first.tryHold(), true, 'the holder keeps it');
  await first.release();
  assert.equal(await second.tryHold(), true, 'the lease passes on');
  assert.equal(await first.tryHold(), false);
  // A holder that falls silent (its machine gone, its connection open) loses the lease when
  // PostgreSQL ends its idle session: `second` is not asked again from here on.
  const silentSince = Date.now();
  while (!(await first.tryHold())) {
    assert.ok(Date.now() - silentSince < 10_000, 'a silent holder keeps the lease less than 10 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const silentMs = Date.now() - silentSince;
  assert.ok(silentMs >= LEASE_SILENCE_MS - 1000, `the lease stayed with its holder while it was quiet for less than the limit (${silentMs} ms)`);
});
