/**
 * Template versions against real QEMU (TCG): an instant pool's spare is a clone of version 1;
 * publishing version 2 builds its snapshot, replaces the spare with a clone of version 2 and
 * leaves the desktop a person is connected to alone (same QEMU, still version 1); rolling back
 * makes version 1 current again. Every step is in the audit log. Two template boots in all.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { loadConfig, repoRoot } from '../config';
import { recordAudit } from '../db/audit';
import { type FloeDatabase, openDatabase } from '../db/database';
import { QemuHypervisor } from '../hypervisor/qemu/qemu-hypervisor';
import { TemplateSnapshots } from '../hypervisor/qemu/template-snapshot';
import { Broker } from './broker';
import { ConsoleSessions } from './console-sessions';
import { PoolDefinitionSchema, templateOf } from './pools';
import { TemplateRollouts, versionLabel } from './template-versions';

const imageDir = loadConfig().imageDir;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-rollout-test-'));
const pool = PoolDefinitionSchema.parse({ name: 'roll', title: 'Roll-out', kind: 'stateless', template: 'demo', spares: 1, maxSize: 3 });
const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
const snapshots = new TemplateSnapshots({ host: hypervisor, root: path.join(dataDir, 'snapshots') });
const log = pino({ level: 'silent' });
let database: FloeDatabase;
let broker: Broker;
let rollouts: TemplateRollouts;

async function spares() {
  return database.db
    .selectFrom('desktops')
    .select(['id', 'template_version', 'state'])
    .where('user_id', 'is', null)
    .where('state', 'in', ['provisioning', 'booting', 'ready'])
    .execute();
}

describe('template versions: roll-out and roll-back (real QEMU, TCG)', () => {
  before(
    async () => {
      execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'inherit' });
      database = await openDatabase({ dataDir });
      const sessions = new ConsoleSessions(database.db);
      broker = new Broker({ db: database.db, engine: database.engine, hypervisor, sessions, imageDir, log, snapshots });
      rollouts = new TemplateRollouts({ broker, store: broker.templateVersions, snapshots, imageDir, log, audit: (e) => recordAudit(database.db, e) });
      await broker.definePools([pool]);
      await snapshots.build(templateOf(pool, imageDir), versionLabel(1));
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await broker?.settle();
    await hypervisor.stopAll().catch(() => undefined);
    hypervisor.close();
    await database?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('publishing v2 replaces the spare and leaves the connected desktop alone; roll-back returns to v1', { timeout: 300_000 }, async () => {
    await broker.reconcile();
    await broker.settle();
    const [firstSpare] = await spares();
    assert.equal(firstSpare?.template_version, 1);
    assert.equal(firstSpare?.state, 'ready');
    const v1Key = (await snapshots.status(templateOf(pool, imageDir), 'v1')).key;
    assert.equal((await hypervisor.list()).find((vm) => vm.id === firstSpare?.id)?.restoredFrom, v1Key, 'the spare is a clone');

    // Someone takes the spare and is connected to it.
    const mine = await broker.assignDesktop('u1', 'roll');
    assert.equal(mine.id, firstSpare?.id);
    await new ConsoleSessions(database.db).begin({ id: 'session-1', desktopId: mine.id, userId: 'u1' });
    const minePid = (await broker.getDesktop(mine.id))?.pid;
    await broker.reconcile();
    await broker.settle();
    const [oldSpare] = await spares();
    assert.equal(oldSpare?.template_version, 1);

    const published = await rollouts.publish('roll', 'admin');
    assert.equal(published.version, 2);
    assert.equal((await rollouts.view('roll')).busy, true);
    await rollouts.settle('roll');
    await broker.settle();
    const view = await rollouts.view('roll');
    assert.equal(view.current, 2);
    assert.equal(view.snapshot?.state, 'ready');
    const [newSpare] = await spares();
    assert.ok(newSpare && newSpare.id !== oldSpare?.id, 'the old spare was replaced');
    assert.equal(newSpare.template_version, 2);
    assert.equal((await broker.getDesktop(oldSpare!.id))?.state, 'gone');
    assert.equal((await hypervisor.list()).find((vm) => vm.id === newSpare.id)?.restoredFrom, view.snapshot?.key, 'a clone of v2');
    const after = await broker.getDesktop(mine.id);
    assert.deepEqual([after?.state, after?.pid, after?.template_version], ['assigned', minePid, 1], 'the connected desktop is untouched');

    await rollouts.rollBack('roll', 'admin');
    await rollouts.settle('roll');
    await broker.settle();
    assert.equal((await rollouts.view('roll')).current, 1);
    const [backSpare] = await spares();
    assert.equal(backSpare?.template_version, 1);
    assert.equal((await hypervisor.list()).find((vm) => vm.id === backSpare?.id)?.restoredFrom, v1Key);

    const actions = (await database.db.selectFrom('audit_log').select('action').where('target', '=', 'roll').orderBy('id').execute()).map((r) => r.action);
    assert.deepEqual(actions, ['template publish', 'template snapshot ready', 'template roll-out', 'template roll-back', 'template snapshot ready', 'template roll-back done']);
  });
});
