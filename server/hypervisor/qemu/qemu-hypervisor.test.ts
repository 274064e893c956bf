/**
 * Tests of the QEMU hypervisor against real QEMU under software emulation (TCG): boots the
 * demo guest (built by guest/build.sh, cached), checks SPICE ticketing with a real SPICE
 * login, typing on the guest's console, re-finding the VM from a fresh hypervisor instance,
 * noticing a kill -9, keeping the disk across stop and start, and destroying; with Floe out of
 * file handles (a real EMFILE), a running VM is neither reported gone nor destroyed; a data
 * folder of any length works since sockets live in the short runtime folder. Each test gets
 * the running VM it needs from runningVm() (booted when none runs), so any test runs alone.
 * Every QEMU started here is stopped in `after`, and the test checks none is left.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitUntil } from '../../../test/wait-until';
import { loadConfig, repoRoot } from '../../config';
import { forgetAcceleratorProbe, probeGuestBoots, resolveAccelerator } from './accelerator';
import { DEMO_READY_MARKER, demoImagePaths, demoTemplate } from './demo-template';
import { exhaustFileHandles } from '../../host/file-handles';
import { isProcessRunning, isQemuOfFolder, qemuLiveness } from './process-check';
import { typeLine } from './guest-keyboard';
import { QemuHypervisor } from './qemu-hypervisor';
import { trySpiceLogin } from './spice-login';
import type { VmInfo } from '../types';

const imageDir = loadConfig().imageDir;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-qemu-test-'));
const id = 'qemu-test-a';
const template = demoTemplate(imageDir);
const hypervisors: QemuHypervisor[] = [];

function newHypervisor(): QemuHypervisor {
  const hypervisor = new QemuHypervisor({ dataDir, accelerator: 'tcg' });
  hypervisors.push(hypervisor);
  return hypervisor;
}

let current: { hypervisor: QemuHypervisor; info: VmInfo } | undefined;

/** The test's VM, running and ready, with a hypervisor driving it: the one left by an earlier test, or a new boot. */
async function runningVm(): Promise<{ hypervisor: QemuHypervisor; info: VmInfo }> {
  if (current && isProcessRunning(current.info.pid)) return current;
  const hypervisor = newHypervisor();
  const info = await hypervisor.start({ id, template });
  await hypervisor.waitReady(id, template.readiness, 90_000);
  current = { hypervisor, info };
  return current;
}

/** Pids of QEMU processes whose command line mentions this test's data folder. */
function qemuProcessesOfThisTest(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const state = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes('qemu-system') && cmdline.includes(dataDir) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

async function waitForSerial(hypervisor: QemuHypervisor, text: string, timeoutMs: number): Promise<void> {
  const serial = () => fs.readFileSync(hypervisor.serialLogPath(id), 'utf8');
  await waitUntil(() => `${JSON.stringify(text)} in the serial log; it has:\n${serial()}`, () => serial().includes(text), { timeoutMs, intervalMs: 100 });
}

/** QEMU key codes for a line of text on a US keyboard (enough for shell commands). */
describe('QemuHypervisor (real QEMU, TCG)', () => {
  before(
    () => {
      // Cached: returns at once when the demo guest is built and matches the recipe.
      execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'inherit' });
      const { kernel, initrd, baseImage } = demoImagePaths(imageDir);
      assert.ok([kernel, initrd, baseImage].every((file) => fs.existsSync(file)), 'the demo guest is built');
    },
    { timeout: 600_000 },
  );

  after(async () => {
    for (const hypervisor of hypervisors) {
      await hypervisor.stopAll().catch(() => undefined);
      hypervisor.close();
    }
    // Anything left (even by a failed test) is killed, then the test fails if some remained.
    const left = qemuProcessesOfThisTest();
    for (const pid of left) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (hypervisors[0]) fs.rmSync(hypervisors[0].runtimeDir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'QEMU processes of this test were left running');
  });

  it('resolveAccelerator: auto checks /dev/kvm and the probe guest; forced choices are kept', async () => {
    forgetAcceleratorProbe();
    const probe = { kernel: template.kernel ?? '', initrd: template.initrd ?? '' };
    const auto = await resolveAccelerator('auto', probe);
    assert.ok(auto.reason.length > 0);
    if (!fs.existsSync('/dev/kvm')) assert.deepEqual(auto, { accelerator: 'tcg', reason: 'no /dev/kvm' });
    assert.equal((await resolveAccelerator('auto', probe)).reason, auto.reason, 'cached per process');
    assert.equal((await resolveAccelerator('tcg')).accelerator, 'tcg');
    assert.equal((await resolveAccelerator('kvm')).accelerator, 'kvm');
    // A probe guest that cannot boot is reported with QEMU's words, quickly.
    const broken = await probeGuestBoots('tcg', { kernel: '/nonexistent/vmlinuz', initrd: '/nonexistent/initrd' }, 10_000);
    assert.equal(broken.booted, false);
    assert.match(broken.problem ?? '', /QEMU exited early/);
  });

  it('boots the demo guest to its ready marker with SPICE ticketing on', { timeout: 120_000 }, async () => {
    if (current) await current.hypervisor.stop(id);
    current = undefined;
    const hypervisor = newHypervisor();
    const started = Date.now();
    const info = await hypervisor.start({ id, template });
    const running = Date.now();
    assert.equal(info.id, id);
    assert.equal(info.accelerator, 'tcg');
    assert.equal(info.spiceHost, '127.0.0.1');
    assert.ok(info.spicePort > 0);
    const folder = hypervisor.desktopFolder(id);
    for (const file of ['disk.qcow2', 'vm.json', 'qemu.pid', 'serial.log']) {
      assert.ok(fs.existsSync(path.join(folder, file)), `${file} exists`);
    }
    assert.ok(fs.existsSync(path.join(hypervisor.runtimeDir, id, 'qmp.sock')), 'qmp.sock is in the runtime folder');
    assert.equal(Number(fs.readFileSync(path.join(folder, 'qemu.pid'), 'utf8').trim()), info.pid);
    // No password yet: every login is refused.
    assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'anything'), 'denied');

    await hypervisor.waitReady(id, template.readiness, 90_000);
    current = { hypervisor, info };
    const ready = Date.now();
    console.log(`demo guest: QEMU answering QMP ${running - started} ms, ready marker ${ready - started} ms after start()`);
    assert.ok(fs.readFileSync(hypervisor.serialLogPath(id), 'utf8').includes(DEMO_READY_MARKER));

    await hypervisor.setConsolePassword(id, 'right-password-1', 60);
    assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'wrong-password'), 'denied');
    assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'right-password-1'), 'ok');
    // A password past its validity opens nothing (QEMU and spice-server count whole seconds).
    await hypervisor.setConsolePassword(id, 'short-lived', 1);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'short-lived'), 'denied');

  });

  it('has a shell on the VGA console that reads the keyboard, and a disk at /home', { timeout: 120_000 }, async () => {
    const { hypervisor } = await runningVm();
    await typeLine(hypervisor, id, 'echo hello >/dev/ttyS0');
    await waitForSerial(hypervisor, 'hello', 15_000);
    await typeLine(hypervisor, id, 'echo on-disk >/home/file; cat /home/file >/dev/ttyS0');
    await waitForSerial(hypervisor, 'on-disk', 15_000);
    const screen = path.join(dataDir, 'screen.ppm');
    await hypervisor.screendump(id, screen);
    assert.equal(fs.readFileSync(screen).subarray(0, 2).toString(), 'P6');
  });

  it('a fresh instance re-finds the running VM from the data folder and can drive it', { timeout: 120_000 }, async () => {
    const { hypervisor, info } = await runningVm();
    hypervisor.close(); // as if Floe had stopped: its QMP connection closes
    const fresh = newHypervisor();
    current = { hypervisor: fresh, info };
    const vms = await fresh.list();
    assert.equal(vms.length, 1);
    assert.deepEqual({ id: vms[0]?.id, pid: vms[0]?.pid, spicePort: vms[0]?.spicePort }, { id, pid: info.pid, spicePort: info.spicePort });
    await fresh.setConsolePassword(id, 'after-restart', 30);
    assert.equal(await trySpiceLogin('127.0.0.1', info.spicePort, 'after-restart'), 'ok');
  });

  it('another instance (a second portal replica) sets the console password while the first holds QMP', { timeout: 120_000 }, async () => {
    const { hypervisor, info } = await runningVm();
    await hypervisor.setConsolePassword(id, 'driver', 30); // the driving instance holds the QMP socket from here on
    const peer = newHypervisor();
    await peer.setConsolePassword(id, 'from-the-peer', 30);
    assert.equal(await trySpiceLogin('127.0.0.1', info.spicePort, 'from-the-peer'), 'ok');
    await hypervisor.setConsolePassword(id, 'driver-again', 30);
    assert.equal(await trySpiceLogin('127.0.0.1', info.spicePort, 'driver-again'), 'ok', 'the driving instance still drives it');
    peer.close();
  });

  it('out of file handles (EMFILE): the VM is unknown, not gone; nothing is stopped or deleted', { timeout: 120_000 }, async () => {
    const { hypervisor, info } = await runningVm();
    const pid = info.pid;
    const folder = hypervisor.desktopFolder(id);
    const exits: string[] = [];
    hypervisor.onExit((exitedId) => exits.push(exitedId));
    const observer = new QemuHypervisor({ dataDir, accelerator: 'tcg', observeOnly: true });
    const release = exhaustFileHandles();
    try {
      assert.equal(qemuLiveness(pid, folder), 'unknown');
      // Two rounds of the once-a-second pid check see "unknown" and report nothing.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      await assert.rejects(observer.list(), /cannot tell/, 'a fresh look cannot say "no VMs"');
      await assert.rejects(hypervisor.destroy(id), /cannot tell/);
      await assert.rejects(hypervisor.stop(id), /cannot tell/);
    } finally {
      release();
    }
    assert.deepEqual(exits, [], 'no exit reported');
    assert.ok(isQemuOfFolder(pid, folder), 'QEMU still runs');
    assert.ok(fs.existsSync(path.join(folder, 'disk.qcow2')), 'its disk is still there');
    assert.deepEqual((await observer.list()).map((vm) => vm.pid), [pid]);
  });

  it('a data folder too long for socket paths still works; a runtime folder too long fails at construction', async () => {
    const deep = path.join(dataDir, 'd'.repeat(100), 'e'.repeat(100));
    const longData = new QemuHypervisor({ dataDir: deep, accelerator: 'tcg', observeOnly: true });
    assert.ok(Buffer.byteLength(longData.runtimeDir) < 60);
    assert.throws(() => new QemuHypervisor({ dataDir, accelerator: 'tcg', runtimeDir: deep }), /runtime folder path too long for a unix socket/);
  });

  it('reports a QEMU killed with -9 within 5 s, and keeps its disk', { timeout: 120_000 }, async () => {
    const { hypervisor, info } = await runningVm();
    const pid = info.pid;
    const exited = new Promise<{ id: string; reason: string }>((resolve) => {
      hypervisor.onExit((exitedId, reason) => resolve({ id: exitedId, reason }));
    });
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    current = undefined;
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('onExit was not called within 5 s')), 5000).unref(),
    );
    const report = await Promise.race([exited, timeout]);
    console.log(`kill -9 noticed after ${Date.now() - killedAt} ms: ${report.reason}`);
    assert.equal(report.id, id);
    assert.ok(report.reason.length > 0);
    assert.deepEqual(await hypervisor.list(), []);
    const folder = hypervisor.desktopFolder(id);
    assert.ok(fs.existsSync(path.join(folder, 'disk.qcow2')));
    assert.ok(!fs.existsSync(path.join(folder, 'vm.json')));
  });

  it('starts again on the same disk, stop keeps the disk, destroy removes the folder', { timeout: 240_000 }, async () => {
    const { hypervisor } = await runningVm();
    const note = `kept-${Date.now().toString(36)}`;
    await typeLine(hypervisor, id, `echo ${note} >/home/note; echo written-${note} >/dev/ttyS0`);
    await waitForSerial(hypervisor, `written-${note}`, 15_000);
    await hypervisor.stop(id);
    current = undefined;
    const folder = hypervisor.desktopFolder(id);
    const diskInode = fs.statSync(path.join(folder, 'disk.qcow2')).ino;
    const stopped: string[] = [];
    hypervisor.onExit((exitedId) => stopped.push(exitedId));

    const info = await hypervisor.start({ id, template });
    assert.equal(fs.statSync(path.join(folder, 'disk.qcow2')).ino, diskInode, 'the overlay is reused');
    await hypervisor.waitReady(id, template.readiness, 90_000);
    await typeLine(hypervisor, id, 'cat /home/note >/dev/ttyS0');
    await waitForSerial(hypervisor, note, 15_000);

    await hypervisor.stop(id);
    assert.equal(isProcessRunning(info.pid), false, 'QEMU is gone after stop');
    assert.ok(fs.existsSync(path.join(folder, 'disk.qcow2')), 'stop keeps the disk');
    assert.ok(!fs.existsSync(path.join(folder, 'vm.json')));
    assert.deepEqual(await hypervisor.list(), []);
    await hypervisor.stop(id); // stopping a stopped desktop is fine
    await assert.rejects(hypervisor.waitReady(id, template.readiness, 1000), /not running/);

    await hypervisor.destroy(id);
    assert.ok(!fs.existsSync(folder), 'destroy removes the folder');
    // Destroying a running desktop stops it first (no need to wait for the guest here).
    const again = await hypervisor.start({ id, template });
    assert.ok(fs.existsSync(path.join(folder, 'disk.qcow2')), 'a new overlay');
    await hypervisor.destroy(id);
    assert.equal(isProcessRunning(again.pid), false);
    assert.ok(!fs.existsSync(folder));
    assert.deepEqual(stopped, [], 'stops Floe asked for are not reported as exits');
  });
});
