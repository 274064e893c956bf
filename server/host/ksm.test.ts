/**
 * KSM status and changes against folders laid out like /sys/kernel/mm/ksm (a fresh one per
 * test), a missing one, and a read-only one: the change is tried by a process of an
 * unprivileged user when the tests run as root (root writes through file modes).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { sampleProcess } from '../hypervisor/qemu/process-stats';
import { KsmPermissionError, configureKsm, readHost, readKsm } from './ksm';

const made: string[] = [];
after(() => {
  for (const dir of made) {
    fs.chmodSync(dir, 0o755);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
const files = { run: 0, pages_to_scan: 100, sleep_millisecs: 20, pages_shared: 250, pages_sharing: 29_000, full_scans: 3 };

/** A new folder laid out like /sys/kernel/mm/ksm, with KSM off. */
function ksmFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-ksm-'));
  made.push(dir);
  for (const [name, value] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), `${value}\n`);
  return dir;
}

test('reads KSM figures and computes the memory saved', async () => {
  const dir = ksmFolder();
  const ksm = await readKsm(dir);
  assert.deepEqual(ksm, {
    available: true,
    running: false,
    pagesToScan: 100,
    sleepMillis: 20,
    pagesShared: 250,
    pagesSharing: 29_000,
    savedBytes: 29_000 * 4096,
    fullScans: 3,
  });
  assert.equal((await readKsm(path.join(dir, 'missing'))).available, false);
});

test('turns KSM on and sets its scan rate', async () => {
  const dir = ksmFolder();
  const ksm = await configureKsm({ running: true, pagesToScan: 1000, sleepMillis: 50 }, dir);
  assert.equal(ksm.running, true);
  assert.equal(fs.readFileSync(path.join(dir, 'run'), 'utf8'), '1\n');
  assert.equal(ksm.pagesToScan, 1000);
  assert.equal(ksm.sleepMillis, 50);
});

test('a host without the KSM folder gets a clear error', async () => {
  await assert.rejects(configureKsm({ running: true }, path.join(ksmFolder(), 'missing')), (error: unknown) => {
    assert.ok(error instanceof KsmPermissionError);
    assert.match((error as Error).message, /Floe may not change KSM on this host \(run: ENOENT\)/);
    return true;
  });
});

test('a read-only KSM folder gets a clear error and nothing changes', () => {
  const dir = ksmFolder();
  for (const name of Object.keys(files)) fs.chmodSync(path.join(dir, name), 0o444);
  fs.chmodSync(dir, 0o555);
  const ksmModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ksm.ts');
  const script = `import { configureKsm } from ${JSON.stringify(ksmModule)};
    configureKsm({ running: true }, ${JSON.stringify(dir)}).then(
      () => console.log('changed'),
      (error) => console.log(error.name + ': ' + error.message),
    );`;
  const root = process.getuid?.() === 0;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    ...(root ? { uid: 65534, gid: 65534 } : {}),
  });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /^KsmPermissionError: Floe may not change KSM on this host \(run: EACCES\)\. Run Floe as root or give it write access/);
  assert.equal(fs.readFileSync(path.join(dir, 'run'), 'utf8'), '0\n');
});

test('host figures and process samples come from /proc', async () => {
  const host = await readHost(ksmFolder());
  assert.ok(host.cpus >= 1 && host.memoryTotalBytes > host.memoryAvailableBytes && host.memoryAvailableBytes > 0);
  const sample = await sampleProcess(process.pid);
  assert.ok(sample && sample.residentBytes > 10_000_000 && sample.cpuSeconds > 0);
  assert.equal(await sampleProcess(2 ** 22 + 1), undefined);
});
