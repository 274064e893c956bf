/** KSM status and changes against a folder laid out like /sys/kernel/mm/ksm, and a read-only one. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { sampleProcess } from '../hypervisor/qemu/process-stats';
import { KsmPermissionError, configureKsm, readHost, readKsm } from './ksm';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-ksm-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const files = { run: 0, pages_to_scan: 100, sleep_millisecs: 20, pages_shared: 250, pages_sharing: 29_000, full_scans: 3 };
for (const [name, value] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), `${value}\n`);

test('reads KSM figures and computes the memory saved', async () => {
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
  const ksm = await configureKsm({ running: true, pagesToScan: 1000, sleepMillis: 50 }, dir);
  assert.equal(ksm.running, true);
  assert.equal(fs.readFileSync(path.join(dir, 'run'), 'utf8'), '1\n');
  assert.equal(ksm.pagesToScan, 1000);
  assert.equal(ksm.sleepMillis, 50);
});

test('a host that does not allow the change gets a clear error', async () => {
  await assert.rejects(configureKsm({ running: true }, path.join(dir, 'missing')), (error: unknown) => {
    assert.ok(error instanceof KsmPermissionError);
    assert.match((error as Error).message, /Floe may not change KSM on this host \(run: ENOENT\)/);
    return true;
  });
});

test('host figures and process samples come from /proc', async () => {
  const host = await readHost(dir);
  assert.ok(host.cpus >= 1 && host.memoryTotalBytes > host.memoryAvailableBytes && host.memoryAvailableBytes > 0);
  const sample = await sampleProcess(process.pid);
  assert.ok(sample && sample.residentBytes > 10_000_000 && sample.cpuSeconds > 0);
  assert.equal(await sampleProcess(2 ** 22 + 1), undefined);
});
