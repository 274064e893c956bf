/**
 * The broker against a fake hypervisor and a real database (SQLite, or PostgreSQL when
 * FLOE_TEST_DATABASE_URL is set): assignment (the same desktop comes back, spares are taken,
 * full pools refuse, 200 parallel requests never share a desktop), the boot states, failures,
 * VM deaths, the reconcile loop (spares, stateless recycling, the idle policy), power actions,
 * and recovery after a restart of Floe.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import { waitUntil } from '../../test/wait-until';
import { openTestDatabase } from '../db/test-database';
import { FakeHypervisor } from '../hypervisor/fake/fake-hypervisor';
import { Broker } from './broker';
import { ConsoleSessions } from './console-sessions';
import { PoolExhaustedError } from './errors';
import { type PoolDefinition, PoolDefinitionSchema } from './pools';

const quiet = pino({ level: 'silent' });
const pool = (fields: Partial<PoolDefinition> & { name: string }) =>
  PoolDefinitionSchema.parse({ title: `Pool ${fields.name}`, kind: 'persistent', template: 'demo', ...fields });

const smallPool = pool({ name: 'small', title: 'Small pool', maxSize: 2 });
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
});

async function setup(pools: PoolDefinition[] = [smallPool], hypervisor = new FakeHypervisor()) {
  const database = await openTestDatabase();
  opened.push(database);
  const sessions = new ConsoleSessions(database.db);
  const broker = new Broker({ db: database.db, engine: database.engine, hypervisor, sessions, imageDir: database.dataDir, log: quiet });
  await broker.definePools(pools);
  return { database, hypervisor, broker, sessions };
}

/** Waits until `check` holds (a 5 ms poll, 2 s at most): for states reached in the background. */
const eventually = (check: () => Promise<boolean>, what: string) => waitUntil(what, check, { timeoutMs: 2000, intervalMs: 5 });

async function stateOf(broker: Broker, id: string) {
  await broker.settle();
  return (await broker.getDesktop(id))?.state;
}

describe('assignDesktop', () => {
  test('boots a new desktop through provisioning → booting → assigned', async () => {
    const t = await setup();
    t.hypervisor.autoReady = false;
    const desktop = await t.broker.assignDesktop('u1', 'small');
    assert.equal(desktop.state, 'provisioning');
    assert.equal(desktop.user_id, 'u1');
    await eventually(async () => (await t.broker.getDesktop(desktop.id))?.state === 'booting', 'booting');
    t.hypervisor.markReady(desktop.id);
    assert.equal(await stateOf(t.broker, desktop.id), 'assigned');
    const row = await t.broker.getDesktop(desktop.id);
    assert.ok(row?.spice_port && row.pid && row.booted_at);
  });

  test('gives the same desktop back to its user and boots only one VM', async () => {
    const t = await setup();
    const first = await t.broker.assignDesktop('u1', 'small');
    await t.broker.settle();
    const again = await t.broker.assignDesktop('u1', 'small');
    assert.equal(again.id, first.id);
    assert.deepEqual(t.hypervisor.started, [first.id]);
  });

  test('refuses with PoolExhaustedError when the pool is full', async () => {
    const t = await setup();
    await t.broker.assignDesktop('u1', 'small');
    await t.broker.assignDesktop('u2', 'small');
    await assert.rejects(t.broker.assignDesktop('u3', 'small'), (error: unknown) => {
      assert.ok(error instanceof PoolExhaustedError);
      assert.equal((error as Error).message, 'All 2 desktops of "Small pool" are in use; try again later or ask the helpdesk.');
      return true;
    });
    await t.broker.settle();
  });

  test('parallel requests of one user get one desktop', async () => {
    const t = await setup();
    const results = await Promise.all(Array.from({ length: 10 }, () => t.broker.assignDesktop('u1', 'small')));
    assert.equal(new Set(results.map((d) => d.id)).size, 1);
    await t.broker.settle();
    assert.equal(t.hypervisor.started.length, 1);
  });

  test('200 parallel requests of 200 users: no desktop is given to two users, spares are used, the rest refused', async () => {
    const t = await setup([pool({ name: 'big', kind: 'stateless', maxSize: 150, spares: 20 })]);
    await t.broker.reconcile();
    await t.broker.settle();
    const spares = (await t.broker.reconcile()).sparesStarted;
    assert.deepEqual(spares, [], '20 spares were already ready');
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => t.broker.assignDesktop(`user-${i}`, 'big')));
    const given = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    const otherErrors = [...new Set(refused.filter((e) => !(e instanceof PoolExhaustedError)).map(String))];
    assert.deepEqual(otherErrors, [], 'refusals other than "the pool is full"');
    assert.equal(given.length, 150);
    assert.equal(refused.length, 50);
    assert.equal(new Set(given.map((d) => d.id)).size, 150, 'every user got a different desktop');
    await t.broker.settle();
    const rows = await t.database.db.selectFrom('desktops').select(['id', 'user_id', 'state']).execute();
    assert.equal(rows.length, 150);
    assert.equal(new Set(rows.map((r) => r.user_id)).size, 150, 'one desktop per user in the database');
    assert.ok(rows.every((r) => r.state === 'assigned'));
    assert.equal(t.hypervisor.started.length, 150, 'the 20 spares were handed out, not booted again');
  });

  test('a desktop that cannot start is failed with the reason, and starts again on the next open', async () => {
    const t = await setup();
    t.hypervisor.failStart = 'no space left on device';
    const desktop = await t.broker.assignDesktop('u1', 'small');
    assert.equal(await stateOf(t.broker, desktop.id), 'failed');
    assert.match((await t.broker.getDesktop(desktop.id))?.failure_reason ?? '', /no space left on device/);
    t.hypervisor.failStart = undefined;
    const again = await t.broker.assignDesktop('u1', 'small');
    assert.equal(again.id, desktop.id);
    assert.equal(await stateOf(t.broker, desktop.id), 'assigned');
  });

  test('a VM that dies marks its desktop failed', async () => {
    const t = await setup();
    const desktop = await t.broker.assignDesktop('u1', 'small');
    await t.broker.settle();
    t.hypervisor.crash(desktop.id);
    await eventually(async () => (await t.broker.getDesktop(desktop.id))?.state === 'failed', 'failed');
    assert.match((await t.broker.getDesktop(desktop.id))?.failure_reason ?? '', /stopped unexpectedly \(killed by signal SIGKILL\)/);
  });

  test('an unknown pool is refused', async () => {
    const t = await setup();
    await assert.rejects(t.broker.assignDesktop('u1', 'nope'), /no desktop pool named "nope"/);
  });
});

describe('reconcile', () => {
  test('keeps `spares` desktops booted, and a user takes a ready spare at once', async () => {
    const t = await setup([pool({ name: 'p', kind: 'stateless', spares: 2, maxSize: 3 })]);
    const first = await t.broker.reconcile();
    assert.equal(first.sparesStarted.length, 2);
    await t.broker.settle();
    assert.deepEqual((await t.broker.reconcile()).sparesStarted, [], 'no more while 2 are ready');
    const desktop = await t.broker.assignDesktop('u1', 'p');
    assert.equal(desktop.state, 'assigned', 'a ready spare needs no boot');
    assert.ok(first.sparesStarted.includes(desktop.id));
    const topUp = await t.broker.reconcile();
    assert.equal(topUp.sparesStarted.length, 1, 'the spare taken is replaced');
    await t.broker.settle();
    assert.deepEqual((await t.broker.reconcile()).sparesStarted, [], 'maxSize 3 is reached');
  });

  test('a pool whose desktops cannot start boots spares ever more rarely, not every pass', async () => {
    const t = await setup([pool({ name: 'broken', kind: 'stateless', spares: 1 })]);
    t.hypervisor.failStart = 'base image missing';
    const first = await t.broker.reconcile();
    assert.equal(first.sparesStarted.length, 1);
    await t.broker.settle();
    assert.equal((await t.broker.getDesktop(first.sparesStarted[0]!))?.state, 'failed');
    const next = await t.broker.reconcile();
    assert.deepEqual(next.discarded, first.sparesStarted, 'the failed one is discarded');
    assert.deepEqual(next.sparesStarted, [], 'but no new spare is made at once');
    await t.broker.settle();
    assert.deepEqual((await t.broker.reconcile()).sparesStarted, []);
  });

  test('a failed stateless desktop is discarded and replaced; a failed persistent one is kept', async () => {
    const t = await setup([pool({ name: 's', kind: 'stateless', spares: 1 }), pool({ name: 'k', kind: 'persistent' })]);
    await t.broker.reconcile();
    await t.broker.settle();
    const stateless = await t.broker.assignDesktop('u1', 's');
    const persistent = await t.broker.assignDesktop('u1', 'k');
    await t.broker.reconcile();
    await t.broker.settle();
    t.hypervisor.crash(stateless.id);
    t.hypervisor.crash(persistent.id);
    await eventually(async () => (await t.broker.getDesktop(stateless.id))?.state === 'failed', 'stateless failed');
    await eventually(async () => (await t.broker.getDesktop(persistent.id))?.state === 'failed', 'persistent failed');
    const report = await t.broker.reconcile();
    assert.deepEqual(report.discarded, [stateless.id]);
    assert.equal(await stateOf(t.broker, stateless.id), 'gone');
    assert.equal(await stateOf(t.broker, persistent.id), 'failed');
    assert.ok(!t.hypervisor.disks.has(stateless.id), 'the stateless disk is deleted');
    assert.ok(t.hypervisor.disks.has(persistent.id), 'the persistent disk is kept');
  });

  test('disconnect policy: after the grace time stateless desktops are discarded, persistent ones follow onIdle', async () => {
    const t = await setup([
      pool({ name: 's', kind: 'stateless', graceMinutes: 1 }),
      pool({ name: 'off', kind: 'persistent', graceMinutes: 1, onIdle: 'shutdown' }),
      pool({ name: 'on', kind: 'persistent', graceMinutes: 1, onIdle: 'keep' }),
    ]);
    const desktops = await Promise.all(['s', 'off', 'on'].map((p) => t.broker.assignDesktop('u1', p)));
    await t.broker.settle();
    const closedAt = Date.now();
    for (const [i, d] of desktops.entries()) {
      await t.sessions.begin({ id: `session-${i}`, desktopId: d.id, userId: 'u1' });
      await t.sessions.end({ sessionKey: `session-${i}`, endedAt: closedAt, bytesToBrowser: 0, bytesToDesktop: 0, endReason: 'client-closed' });
    }
    await t.sessions.begin({ id: 'still-open', desktopId: desktops[2]!.id, userId: 'u1' });
    const deadlines = await Promise.all(desktops.map(async (d) => t.broker.policyDeadline((await t.broker.getDesktop(d.id))!, await t.broker.getPool(d.pool_name))));
    assert.deepEqual(deadlines, [closedAt + 60_000, closedAt + 60_000, null], 'My desktops is told when the policy applies; never for a kept one');
    const early = await t.broker.reconcile(closedAt + 59_000);
    assert.deepEqual([early.discarded, early.shutDown], [[], []], 'nothing happens within the grace time');
    const late = await t.broker.reconcile(closedAt + 61_000);
    assert.deepEqual(late.discarded, [desktops[0]!.id]);
    assert.deepEqual(late.shutDown, [desktops[1]!.id]);
    assert.equal(await stateOf(t.broker, desktops[0]!.id), 'gone');
    assert.equal(await stateOf(t.broker, desktops[1]!.id), 'stopped');
    assert.equal(await stateOf(t.broker, desktops[2]!.id), 'assigned');
  });

  test('a desktop with an open console is never idle', async () => {
    const t = await setup([pool({ name: 's', kind: 'stateless', graceMinutes: 0 })]);
    const d = await t.broker.assignDesktop('u1', 's');
    await t.broker.settle();
    await t.sessions.begin({ id: 'open', desktopId: d.id, userId: 'u1' });
    const report = await t.broker.reconcile(Date.now() + 86_400_000);
    assert.deepEqual(report.discarded, []);
    assert.equal(await t.broker.policyDeadline((await t.broker.getDesktop(d.id))!, await t.broker.getPool('s')), null);
  });
});

describe('powerAction', () => {
  test('persistent: shutdown keeps the disk, restart boots it again, reset resets the same VM, discard is refused', async () => {
    const t = await setup([pool({ name: 'k', kind: 'persistent' })]);
    const d = await t.broker.assignDesktop('u1', 'k');
    await t.broker.settle();
    await t.broker.powerAction(d.id, 'shutdown');
    assert.equal(await stateOf(t.broker, d.id), 'stopped');
    assert.ok(t.hypervisor.disks.has(d.id));
    await assert.rejects(t.broker.powerAction(d.id, 'discard'), /cannot be discarded/);
    await t.broker.powerAction(d.id, 'restart');
    assert.equal(await stateOf(t.broker, d.id), 'assigned');
    assert.deepEqual(t.hypervisor.started, [d.id, d.id]);

    // Reset: the same QEMU is reset (no new one), the desktop is booting until the guest is ready again.
    t.hypervisor.autoReady = false;
    const pid = (await t.hypervisor.list()).find((vm) => vm.id === d.id)?.pid;
    assert.equal(typeof pid, 'number');
    const resetting = await t.broker.powerAction(d.id, 'reset');
    assert.equal(resetting.state, 'booting');
    assert.deepEqual(t.hypervisor.resets, [d.id]);
    assert.deepEqual(t.hypervisor.started, [d.id, d.id], 'no new QEMU for a reset');
    assert.equal((await t.hypervisor.list()).find((vm) => vm.id === d.id)?.pid, pid);
    t.hypervisor.markReady(d.id);
    assert.equal(await stateOf(t.broker, d.id), 'assigned');
  });

  test('stateless: discard removes the desktop, the next open gives a fresh one', async () => {
    const t = await setup([pool({ name: 's', kind: 'stateless' })]);
    const d = await t.broker.assignDesktop('u1', 's');
    await t.broker.settle();
    await t.broker.powerAction(d.id, 'discard');
    assert.equal(await stateOf(t.broker, d.id), 'gone');
    assert.ok(!t.hypervisor.disks.has(d.id));
    const fresh = await t.broker.assignDesktop('u1', 's');
    assert.notEqual(fresh.id, d.id);
    await t.broker.settle();
  });
});

describe('recover', () => {
  test('re-adopts running VMs, fails vanished ones and stops strays', async () => {
    const t = await setup();
    const kept = await t.broker.assignDesktop('u1', 'small');
    const lost = await t.broker.assignDesktop('u2', 'small');
    await t.broker.settle();
    await t.hypervisor.stop(lost.id); // vanished while Floe was down
    await t.hypervisor.start({ id: 'stray-1', template: { baseImage: 'x', memoryMiB: 64, vcpus: 1, readiness: { kind: 'delay', seconds: 0 } } });

    // A new Floe process: a new broker over the same database and the same (still running) VMs.
    const database = await t.database.reopen();
    opened.push(database);
    const broker = new Broker({
      db: database.db,
      engine: database.engine,
      hypervisor: t.hypervisor,
      sessions: new ConsoleSessions(database.db),
      imageDir: t.database.dataDir,
      log: quiet,
    });
    const result = await broker.recover();
    assert.deepEqual(result, { adopted: [kept.id], failed: [lost.id], stray: ['stray-1'], unknown: [] });
    assert.equal((await broker.getDesktop(kept.id))?.state, 'assigned');
    assert.equal((await broker.getDesktop(lost.id))?.state, 'failed');
    assert.equal((await broker.assignDesktop('u1', 'small')).id, kept.id);
    assert.equal(t.hypervisor.started.length, 3, 'no second desktop is booted for u1');
  });

  test("run again on taking the reconcile lease back: a boot in flight (here or on a live replica) is not failed, a template VM is not a stray", async () => {
    const hypervisor = new FakeHypervisor();
    const database = await openTestDatabase();
    opened.push(database);
    const broker = new Broker({
      db: database.db,
      engine: database.engine,
      hypervisor,
      sessions: new ConsoleSessions(database.db),
      imageDir: database.dataDir,
      log: quiet,
      notDesktop: (id) => id.startsWith('template-'),
    });
    await broker.definePools([smallPool]);
    hypervisor.autoReady = false;
    const booting = await broker.assignDesktop('u1', 'small');
    // Rows another replica inserted: b (alive) has not started its QEMU yet; c died before it did.
    const row = (id: string, drivenBy: string) => ({
      id, pool_name: 'small', state: 'provisioning' as const, user_id: null, failure_reason: null, pid: null, spice_host: null, spice_port: null,
      accelerator: null, created_at: 0, state_changed_at: 0, booted_at: null, assigned_at: null, template_version: null, driven_by: drivenBy,
    });
    await database.db.insertInto('desktops').values([row('small-by-b', 'b'), row('small-by-c', 'c')]).execute();
    await hypervisor.start({ id: 'template-0123', template: { baseImage: 'x', memoryMiB: 64, vcpus: 1, readiness: { kind: 'delay', seconds: 0 } } });
    const result = await broker.recover({ liveReplicas: new Set(['b']) });
    assert.deepEqual(result, { adopted: [], failed: ['small-by-c'], stray: [], unknown: [] });
    assert.equal((await broker.getDesktop('small-by-b'))?.state, 'provisioning', "a live replica's boot is its own");
    assert.notEqual((await broker.getDesktop(booting.id))?.state, 'failed');
    assert.ok((await hypervisor.list()).some((vm) => vm.id === 'template-0123'), 'the template VM still runs');
    hypervisor.markReady(booting.id);
    assert.equal(await stateOf(broker, booting.id), 'assigned');
  });
});

describe('seedPools', () => {
  test('the pool file wins when it changed; otherwise run-time changes in the database stay', async () => {
    const t = await setup([]);
    const fromFile = pool({ name: 'office', maxSize: 5 });
    assert.deepEqual(await t.broker.seedPools([fromFile]), ['office']);
    await t.broker.definePools([{ ...fromFile, maxSize: 9 }]); // an admin's change at run time
    assert.deepEqual(await t.broker.seedPools([fromFile]), [], 'unchanged file: the admin change stays');
    assert.equal((await t.broker.getPool('office')).maxSize, 9);
    assert.deepEqual(await t.broker.seedPools([{ ...fromFile, maxSize: 6 }]), ['office']);
    assert.equal((await t.broker.getPool('office')).maxSize, 6);
  });
});

describe('draining', () => {
  test('a draining pool keeps serving its desktops but gives out no new ones and boots no spares', async () => {
    const t = await setup([pool({ name: 'old', kind: 'persistent', spares: 1 })]);
    const mine = await t.broker.assignDesktop('u1', 'old');
    await t.broker.settle();
    await t.broker.definePools([{ ...(await t.broker.getPool('old')), draining: true }]);
    assert.equal((await t.broker.assignDesktop('u1', 'old')).id, mine.id, 'people keep the desktop they have');
    await assert.rejects(t.broker.assignDesktop('u2', 'old'), /being retired and gives out no new desktops/);
    assert.deepEqual((await t.broker.reconcile()).sparesStarted, []);
  });
});

describe('destroy only on proof: when the hypervisor cannot tell, nothing is decided', () => {
  test('a boot that times out while the VM cannot be checked leaves the desktop booting, then fails it once it can', async () => {
    const t = await setup([pool({ name: 'k', kind: 'persistent' })]);
    t.hypervisor.autoReady = false;
    const d = await t.broker.assignDesktop('u1', 'k');
    await eventually(async () => (await t.broker.getDesktop(d.id))?.state === 'booting', 'booting');
    t.hypervisor.cannotTell.add(d.id);
    t.hypervisor.vms.get(d.id)!.waiters[0]!.reject(new Error('no ready marker in time'));
    await t.broker.settle();
    assert.equal((await t.broker.getDesktop(d.id))?.state, 'booting', 'not failed on a guess');
    assert.ok(t.hypervisor.vms.has(d.id) && t.hypervisor.disks.has(d.id), 'VM and disk untouched');
    await t.broker.reconcile();
    assert.equal((await t.broker.getDesktop(d.id))?.state, 'booting', 'still unknown: still left as it is');
    t.hypervisor.cannotTell.delete(d.id);
    await t.broker.reconcile();
    assert.equal((await t.broker.getDesktop(d.id))?.state, 'failed', 'failed once the stop was shown');
    assert.ok(!t.hypervisor.vms.has(d.id) && t.hypervisor.disks.has(d.id));
  });

  test('reconcile keeps a failed stateless desktop and its disk while its VM cannot be checked', async () => {
    const t = await setup([pool({ name: 's', kind: 'stateless' })]);
    const d = await t.broker.assignDesktop('u1', 's');
    await t.broker.settle();
    t.hypervisor.crash(d.id);
    await eventually(async () => (await t.broker.getDesktop(d.id))?.state === 'failed', 'failed');
    t.hypervisor.cannotTell.add(d.id);
    const report = await t.broker.reconcile();
    assert.deepEqual(report.discarded, []);
    assert.equal((await t.broker.getDesktop(d.id))?.state, 'failed', 'state restored, not stuck in stopping');
    assert.ok(t.hypervisor.disks.has(d.id), 'disk kept');
    t.hypervisor.cannotTell.delete(d.id);
    assert.deepEqual((await t.broker.reconcile()).discarded, [d.id]);
    assert.ok(!t.hypervisor.disks.has(d.id));
  });

  test('the idle policy discards nothing whose VM cannot be checked', async () => {
    const t = await setup([pool({ name: 's', kind: 'stateless', graceMinutes: 0 })]);
    const d = await t.broker.assignDesktop('u1', 's');
    await t.broker.settle();
    t.hypervisor.cannotTell.add(d.id);
    const report = await t.broker.reconcile(Date.now() + 86_400_000);
    assert.deepEqual(report.discarded, []);
    assert.equal((await t.broker.getDesktop(d.id))?.state, 'assigned');
    assert.ok(t.hypervisor.vms.has(d.id) && t.hypervisor.disks.has(d.id));
  });

  test('discard while the VM cannot be checked is refused with 503 and the desktop stays as it was', async () => {
    const t = await setup([pool({ name: 's', kind: 'stateless' })]);
    const d = await t.broker.assignDesktop('u1', 's');
    await t.broker.settle();
    t.hypervisor.cannotTell.add(d.id);
    await assert.rejects(t.broker.powerAction(d.id, 'discard'), (error: Error & { status?: number }) => error.status === 503);
    assert.equal((await t.broker.getDesktop(d.id))?.state, 'assigned');
    assert.ok(t.hypervisor.disks.has(d.id));
  });

  test('recover decides nothing when the hypervisor cannot tell which VMs run', async () => {
    const t = await setup();
    const d = await t.broker.assignDesktop('u1', 'small');
    await t.broker.settle();
    t.hypervisor.cannotTell.add(d.id);
    await assert.rejects(t.broker.recover(), /cannot tell/);
    assert.equal((await t.broker.getDesktop(d.id))?.state, 'assigned', 'not marked failed');
  });

  test('recover leaves a desktop on a host that does not answer as it is, settles the others, and settles it once the host answers', async () => {
    const t = await setup();
    const silent = await t.broker.assignDesktop('u1', 'small');
    const gone = await t.broker.assignDesktop('u2', 'small');
    await t.broker.settle();
    t.hypervisor.onSilentHost.add(silent.id);
    t.hypervisor.vms.delete(gone.id); // gone while Floe was away: no exit event, only recovery can tell
    const result = await t.broker.recover();
    assert.deepEqual(result.unknown, [silent.id]);
    assert.equal((await t.broker.getDesktop(silent.id))?.state, 'assigned', 'not failed: its host may still run it');
    assert.equal((await t.broker.getDesktop(gone.id))?.state, 'failed', 'a VM an answering host does not run is settled');
    assert.deepEqual(result.stray, [], 'a VM on the silent host is not a stray');
    // The host answers again and no longer runs the VM: the next pass settles it.
    t.hypervisor.onSilentHost.delete(silent.id);
    t.hypervisor.vms.delete(silent.id);
    await t.broker.reconcile();
    assert.equal((await t.broker.getDesktop(silent.id))?.state, 'failed');
  });

  test('a failure path that throws, even synchronously, twice, leaves no unhandled rejection', async () => {
    const hypervisor = new FakeHypervisor();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const t = await setup([pool({ name: 'k', kind: 'persistent' })], hypervisor);
      hypervisor.failStart = 'data folder path too long for a unix socket';
      hypervisor.stop = () => {
        throw new Error('bad desktop id');
      };
      const d = await t.broker.assignDesktop('u1', 'k');
      await t.broker.settle();
      await t.broker.reconcile();
      await t.broker.reconcile();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal((await t.broker.getDesktop(d.id))?.state, 'provisioning', 'left as it is: the stop never succeeded');
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('reconcile loop', () => {
  test('pauses while told to (the database is away) and resumes by itself', async () => {
    const t = await setup([pool({ name: 's', kind: 'stateless', spares: 1 })]);
    let paused = true;
    const stop = t.broker.startReconciling(10, () => paused);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(t.hypervisor.started, [], 'nothing decided while paused');
      paused = false;
      await eventually(async () => t.hypervisor.started.length === 1, 'a spare booted after the pause');
    } finally {
      stop();
      await t.broker.settle();
    }
  });
});
