/**
 * The broker against a fake hypervisor and a real SQLite database: assignment (the same
 * desktop comes back, pools refuse when full), the boot states, failures, VM deaths and
 * recovery after a restart of Floe.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { type FloeDatabase, openDatabase } from '../db/database';
import { FakeHypervisor } from '../hypervisor/fake/fake-hypervisor';
import { Broker } from './broker';
import { PoolExhaustedError } from './errors';
import { PoolDefinitionSchema } from './pools';

const quiet = pino({ level: 'silent' });
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const smallPool = PoolDefinitionSchema.parse({ name: 'small', title: 'Small pool', kind: 'persistent', template: 'demo', maxSize: 2 });

async function setup() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-broker-'));
  dirs.push(dataDir);
  const database = await openDatabase({ dataDir });
  const hypervisor = new FakeHypervisor();
  const broker = new Broker({ db: database.db, engine: database.engine, hypervisor, imageDir: dataDir, log: quiet });
  await broker.definePools([smallPool]);
  return { dataDir, database, hypervisor, broker };
}

/** Polls `check` until it holds (2 s at most): for states reached in the background. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function waitForState(broker: Broker, id: string, state: string) {
  await broker.settle();
  assert.equal((await broker.getDesktop(id))?.state, state);
}

describe('assignDesktop', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    t = await setup();
  });

  test('boots a new desktop through provisioning → booting → assigned', async () => {
    t.hypervisor.autoReady = false;
    const desktop = await t.broker.assignDesktop('u1', 'small');
    assert.equal(desktop.state, 'provisioning');
    assert.equal(desktop.user_id, 'u1');
    await eventually(async () => (await t.broker.getDesktop(desktop.id))?.state === 'booting', 'booting');
    t.hypervisor.markReady(desktop.id);
    await waitForState(t.broker, desktop.id, 'assigned');
    const row = await t.broker.getDesktop(desktop.id);
    assert.ok(row?.spice_port && row.pid && row.booted_at);
    await t.database.close();
  });

  test('gives the same desktop back to its user and boots only one VM', async () => {
    const first = await t.broker.assignDesktop('u1', 'small');
    await t.broker.settle();
    const again = await t.broker.assignDesktop('u1', 'small');
    assert.equal(again.id, first.id);
    assert.deepEqual(t.hypervisor.started, [first.id]);
    await t.database.close();
  });

  test('refuses with PoolExhaustedError when the pool is full', async () => {
    await t.broker.assignDesktop('u1', 'small');
    await t.broker.assignDesktop('u2', 'small');
    await assert.rejects(t.broker.assignDesktop('u3', 'small'), (error: unknown) => {
      assert.ok(error instanceof PoolExhaustedError);
      assert.match((error as Error).message, /All 2 desktops of "Small pool" are in use/);
      return true;
    });
    await t.broker.settle();
    await t.database.close();
  });

  test('parallel requests of one user get one desktop', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => t.broker.assignDesktop('u1', 'small')));
    assert.equal(new Set(results.map((d) => d.id)).size, 1);
    await t.broker.settle();
    assert.equal(t.hypervisor.started.length, 1);
    await t.database.close();
  });

  test('a desktop that cannot start is failed with the reason, and starts again on the next open', async () => {
    t.hypervisor.failStart = 'no space left on device';
    const desktop = await t.broker.assignDesktop('u1', 'small');
    await waitForState(t.broker, desktop.id, 'failed');
    assert.match((await t.broker.getDesktop(desktop.id))?.failure_reason ?? '', /no space left on device/);
    t.hypervisor.failStart = undefined;
    const again = await t.broker.assignDesktop('u1', 'small');
    assert.equal(again.id, desktop.id);
    await waitForState(t.broker, desktop.id, 'assigned');
    await t.database.close();
  });

  test('a VM that dies marks its desktop failed', async () => {
    const desktop = await t.broker.assignDesktop('u1', 'small');
    await t.broker.settle();
    t.hypervisor.crash(desktop.id);
    await eventually(async () => (await t.broker.getDesktop(desktop.id))?.state === 'failed', 'failed');
    const row = await t.broker.getDesktop(desktop.id);
    assert.equal(row?.state, 'failed');
    assert.match(row?.failure_reason ?? '', /stopped unexpectedly/);
    await t.database.close();
  });

  test('an unknown pool is refused', async () => {
    await assert.rejects(t.broker.assignDesktop('u1', 'nope'), /no desktop pool named "nope"/);
    await t.database.close();
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
    await t.database.close();

    const database = await openDatabase({ dataDir: t.dataDir });
    const broker = new Broker({ db: database.db, engine: database.engine, hypervisor: t.hypervisor, imageDir: t.dataDir, log: quiet });
    const result = await broker.recover();
    assert.deepEqual(result, { adopted: [kept.id], failed: [lost.id], stray: ['stray-1'] });
    assert.equal((await broker.getDesktop(kept.id))?.state, 'assigned');
    assert.equal((await broker.getDesktop(lost.id))?.state, 'failed');
    assert.equal((await broker.assignDesktop('u1', 'small')).id, kept.id);
    assert.equal(t.hypervisor.started.length, 3, 'no second desktop is booted for u1');
    await database.close();
  });
});
