/**
 * Instant clones against real QEMU (TCG): one template snapshot of the demo guest is built,
 * then clones of it show the guest's screen at once and take typed input, two clones keep
 * their own files in /home, a persistent clone keeps its files across shut-down and a cold
 * start, and a corrupted state file falls back to a cold boot with the reason recorded; a bad
 * snapshot's rebuild never moves the frozen layer disks sit on. Two template boots and two
 * cold boots in all; every QEMU started here is stopped in `after`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitUntil } from '../../../test/wait-until';
import { loadConfig, repoRoot } from '../../config';
import type { TemplateSnapshotRef } from '../types';
import { demoTemplate } from './demo-template';
import { typeLine } from './guest-keyboard';
import { isProcessRunning, readCommandLine } from './process-check';
import { QemuHypervisor } from './qemu-hypervisor';
import { TemplateSnapshots, markSnapshotBad, snapshotFiles } from './template-snapshot';

const imageDir = loadConfig().imageDir;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-clone-test-'));
const template = demoTemplate(imageDir);
const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
const snapshots = new TemplateSnapshots({ host: hypervisor, root: path.join(dataDir, 'snapshots') });

async function waitForSerial(id: string, text: string, timeoutMs = 15_000): Promise<void> {
  const serial = () => fs.readFileSync(hypervisor.serialLogPath(id), 'utf8');
  await waitUntil(() => `${JSON.stringify(text)} in the serial log of ${id}; it has:\n${serial()}`, () => serial().includes(text), { timeoutMs, intervalMs: 100 });
}

/** Live QEMU processes whose command line names a file under `folder`. */
function qemuProcessesOf(folder: string): number[] {
  return fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    const argv = readCommandLine(pid);
    return isProcessRunning(pid) && !!argv?.[0]?.includes('qemu-system') && argv.some((arg) => arg.includes(folder));
  });
}

/** Share of pixels of the guest's screen that are not black. */
async function litShare(id: string): Promise<number> {
  const file = path.join(dataDir, `${id}.ppm`);
  await hypervisor.screendump(id, file);
  const data = fs.readFileSync(file);
  // P6\n<w> <h>\n255\n then RGB bytes
  const header = data.subarray(0, 20).toString('latin1').split(/\s+/);
  const offset = data.indexOf('255\n', 0, 'latin1') + 4;
  const pixels = (Number(header[1]) * Number(header[2])) || 1;
  let lit = 0;
  for (let i = offset; i + 2 < data.length; i += 3) if (data[i]! + data[i + 1]! + data[i + 2]! > 60) lit++;
  return lit / pixels;
}

describe('instant clones from a template snapshot (real QEMU, TCG)', () => {
  let snapshot: TemplateSnapshotRef;

  before(
    async () => {
      execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'inherit' });
      const t0 = Date.now();
      snapshot = await snapshots.build(template, 'v1');
      const status = await snapshots.status(template, 'v1');
      console.log(`template snapshot built in ${Date.now() - t0} ms, state ${status.stateBytes} bytes`);
      assert.equal(status.state, 'ready');
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await hypervisor.stopAll().catch(() => undefined);
    hypervisor.close();
    const left = qemuProcessesOf(dataDir);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'QEMU processes of this test were left running');
  });

  it('keeps the snapshot: a second request reuses it, and the template VM is gone', async () => {
    assert.deepEqual(await snapshots.build(template, 'v1'), snapshot);
    assert.deepEqual(await snapshots.ready(template, 'v1'), snapshot);
    assert.deepEqual((await hypervisor.list()).map((vm) => vm.id), []);
    assert.notEqual((await snapshots.keyOf(template, 'v2')), snapshot.key, 'another version is another snapshot');
    assert.notEqual((await snapshots.keyOf({ ...template, memoryMiB: 320 }, 'v1')), snapshot.key, 'another memory size too');
  });

  it('a clone shows the guest at once and takes typed input', { timeout: 60_000 }, async () => {
    const t0 = Date.now();
    const vm = await hypervisor.start({ id: 'clone-a', template, snapshot });
    await hypervisor.waitReady('clone-a', template.readiness, 10_000);
    console.log(`clone spawn → running and ready: ${Date.now() - t0} ms`);
    assert.equal(vm.restoredFrom, snapshot.key);
    assert.ok((await litShare('clone-a')) > 0.001, 'the prompt is on the screen right after the restore');
    await typeLine(hypervisor, 'clone-a', 'echo typed-into-clone >/dev/ttyS0');
    await waitForSerial('clone-a', 'typed-into-clone');
  });

  it('two clones of one snapshot keep their own files in /home', { timeout: 60_000 }, async () => {
    await hypervisor.start({ id: 'clone-b', template, snapshot });
    await hypervisor.waitReady('clone-b', template.readiness, 10_000);
    await typeLine(hypervisor, 'clone-a', 'echo from-a >/home/a.txt; ls /home >/dev/ttyS0; echo listed-a >/dev/ttyS0');
    await typeLine(hypervisor, 'clone-b', 'echo from-b >/home/b.txt; ls /home >/dev/ttyS0; echo listed-b >/dev/ttyS0');
    await waitForSerial('clone-a', 'listed-a');
    await waitForSerial('clone-b', 'listed-b');
    const serialA = fs.readFileSync(hypervisor.serialLogPath('clone-a'), 'utf8');
    const serialB = fs.readFileSync(hypervisor.serialLogPath('clone-b'), 'utf8');
    assert.match(serialA, /a\.txt/);
    assert.doesNotMatch(serialA, /b\.txt/);
    assert.match(serialB, /b\.txt/);
    assert.doesNotMatch(serialB, /a\.txt/);
    await hypervisor.destroy('clone-b');
  });

  it('a persistent clone keeps its files across shut-down and a cold start', { timeout: 120_000 }, async () => {
    await typeLine(hypervisor, 'clone-a', 'echo kept-by-clone >/home/keep; echo saved >/dev/ttyS0');
    await waitForSerial('clone-a', 'saved');
    await hypervisor.stop('clone-a');
    // Its disk exists now: the start is a cold boot from it, even with a snapshot at hand.
    const vm = await hypervisor.start({ id: 'clone-a', template, snapshot });
    assert.equal(vm.restoredFrom, undefined);
    await hypervisor.waitReady('clone-a', template.readiness, 90_000);
    await typeLine(hypervisor, 'clone-a', 'cat /home/keep >/dev/ttyS0');
    await waitForSerial('clone-a', 'kept-by-clone');
    await hypervisor.destroy('clone-a');
  });

  it('a corrupted state file falls back to a cold boot, and the snapshot is marked bad with the reason', { timeout: 120_000 }, async () => {
    // A copy of the snapshot, damaged in the middle, so the good one stays for the other tests.
    const broken = snapshotFiles(path.join(dataDir, 'broken'), 'broken');
    fs.mkdirSync(broken.folder, { recursive: true });
    fs.copyFileSync(snapshot.frozenDisk, broken.frozenDisk);
    const state = fs.readFileSync(snapshot.stateFile);
    state.fill(0x5a, 64, Math.min(state.length, 1024 * 1024));
    fs.writeFileSync(broken.stateFile, state);
    const ref = { key: 'broken', stateFile: broken.stateFile, frozenDisk: broken.frozenDisk };
    const vm = await hypervisor.start({ id: 'clone-c', template, snapshot: ref });
    assert.equal(vm.restoredFrom, undefined, 'booted cold');
    await hypervisor.waitReady('clone-c', template.readiness, 90_000);
    const bad = JSON.parse(fs.readFileSync(broken.badFile, 'utf8')) as { reason: string };
    console.log(`bad snapshot reason: ${bad.reason}`);
    assert.match(bad.reason, /restore/);
    // Marked bad: the next desktop does not even try it.
    const next = await hypervisor.start({ id: 'clone-d', template, snapshot: ref });
    assert.equal(next.restoredFrom, undefined);
    await hypervisor.destroy('clone-c');
    await hypervisor.destroy('clone-d');
  });

  it('rebuilding a bad snapshot adds a new build and leaves the old frozen layer where disks expect it', { timeout: 300_000 }, async () => {
    await markSnapshotBad(snapshot, 'test: pretend a restore failed');
    assert.equal(await snapshots.ready(template, 'v1'), undefined, 'a bad snapshot is not used, nor rebuilt by itself');
    const rebuilt = await snapshots.build(template, 'v1');
    assert.equal(rebuilt.key, snapshot.key);
    assert.notEqual(rebuilt.frozenDisk, snapshot.frozenDisk);
    assert.ok(fs.existsSync(snapshot.frozenDisk), 'the old frozen layer stays');
    assert.equal((await snapshots.status(template, 'v1')).state, 'ready');
    assert.deepEqual(await snapshots.ready(template, 'v1'), rebuilt);
  });
});
