/**
 * Desktop lifecycles with real QEMU (TCG) and the demo guest: a persistent desktop keeps the
 * files its user wrote across a shut-down and a start; a stateless desktop, discarded and
 * opened again, comes back clean. Keys are typed on the guest's console through QMP.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig, repoRoot } from '../config';
import { openTestDatabase } from '../db/test-database';
import { typeLine } from '../hypervisor/qemu/guest-keyboard';
import { QemuHypervisor } from '../hypervisor/qemu/qemu-hypervisor';
import { Broker } from './broker';
import { ConsoleSessions } from './console-sessions';
import { PoolDefinitionSchema } from './pools';

const imageDir = loadConfig().imageDir;
let database: Awaited<ReturnType<typeof openTestDatabase>>;
let hypervisor: QemuHypervisor;
let broker: Broker;

before(async () => {
  execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'inherit' });
  database = await openTestDatabase();
  hypervisor = new QemuHypervisor({ dataDir: path.join(database.dataDir, 'vms'), accelerator: 'tcg' });
  broker = new Broker({
    db: database.db,
    engine: database.engine,
    hypervisor,
    sessions: new ConsoleSessions(database.db),
    imageDir,
    log: pino({ level: 'silent' }),
  });
  await broker.definePools([
    PoolDefinitionSchema.parse({ name: 'mine', title: 'Mine', kind: 'persistent', template: 'demo' }),
    PoolDefinitionSchema.parse({ name: 'fresh', title: 'Fresh', kind: 'stateless', template: 'demo' }),
  ]);
});

after(async () => {
  await broker?.settle();
  await hypervisor?.stopAll();
  hypervisor?.close();
  await database?.close();
});

async function openReady(user: string, pool: string) {
  const desktop = await broker.assignDesktop(user, pool);
  await broker.settle();
  const row = await broker.getDesktop(desktop.id);
  assert.equal(row?.state, 'assigned', `desktop ready (${row?.failure_reason ?? ''})`);
  return desktop.id;
}

/** Runs a shell line on the guest that ends by printing `done` on the serial port, and returns the serial log. */
async function run(id: string, line: string): Promise<string> {
  const done = `done-${randomBytes(3).toString('hex')}`;
  const log = hypervisor.serialLogPath(id);
  const before = fs.existsSync(log) ? fs.statSync(log).size : 0;
  await typeLine(hypervisor, id, `${line}; echo ${done} >/dev/ttyS0`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = fs.readFileSync(log, 'utf8').slice(before);
    if (text.includes(done)) return text;
    if (Date.now() > deadline) assert.fail(`the guest did not run "${line}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a persistent desktop keeps its files across shut-down and start', { timeout: 180_000 }, async () => {
  const id = await openReady('carol', 'mine');
  const note = `kept-${randomBytes(4).toString('hex')}`;
  await run(id, `echo ${note} >/home/note`);
  await broker.powerAction(id, 'shutdown');
  assert.equal((await broker.getDesktop(id))?.state, 'stopped');
  assert.deepEqual(await hypervisor.list(), [], 'its QEMU is gone');

  assert.equal(await openReady('carol', 'mine'), id, 'opening again starts the same desktop');
  const output = await run(id, 'cat /home/note >/dev/ttyS0');
  assert.ok(output.includes(note), 'the file written before the shut-down is there');
  await broker.powerAction(id, 'shutdown');
});

test('a stateless desktop comes back clean after it is discarded', { timeout: 180_000 }, async () => {
  const first = await openReady('dave', 'fresh');
  const note = `gone-${randomBytes(4).toString('hex')}`;
  const written = await run(first, `echo ${note} >/home/note && cat /home/note >/dev/ttyS0`);
  assert.ok(written.includes(note), 'the old desktop really had the file');
  await broker.powerAction(first, 'discard');
  assert.equal((await broker.getDesktop(first))?.state, 'gone');
  assert.ok(!fs.existsSync(hypervisor.desktopFolder(first)), 'its disk is deleted');

  const second = await openReady('dave', 'fresh');
  assert.notEqual(second, first);
  // Printed only when /home is there without the note: a failing command prints nothing.
  const clean = `clean-${randomBytes(3).toString('hex')}`;
  const output = await run(second, `test -d /home && test ! -e /home/note && echo ${clean} >/dev/ttyS0`);
  assert.ok(output.includes(clean), 'the new desktop has none of the old files');
  await broker.powerAction(second, 'discard');
});
