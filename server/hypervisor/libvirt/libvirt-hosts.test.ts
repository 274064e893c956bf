/**
 * The libvirt driver across two hosts: two libvirtd instances started by scripts/libvirt.sh
 * (own mount namespaces, sockets and state; stopped in `after`). A desktop goes to the host
 * that has the template; the host's figures (memory, KSM, desktops) are read from libvirt; a
 * host whose libvirtd stops answering (SIGSTOP) is marked down within 10 s, its desktop is
 * unreachable (not exited: nothing reported, nothing stopped, a password change says "cannot
 * tell" instead of failing the desktop) and reachable again once the host answers (SIGCONT).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitUntil } from '../../../test/wait-until';
import { loadConfig, repoRoot } from '../../config';
import { demoTemplate } from '../qemu/demo-template';
import { trySpiceLogin } from '../qemu/spice-login';
import { LivenessUnknownError } from '../types';
import { LibvirtHypervisor } from './libvirt-hypervisor';

const template = demoTemplate(loadConfig().imageDir);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-libvirt-hosts-'));
const script = path.join(repoRoot, 'scripts', 'libvirt.sh');
let driver: LibvirtHypervisor;
let uris: string[] = [];

const libvirtdPid = (name: string) => Number(fs.readFileSync(path.join(root, name, 'libvirtd.pid'), 'utf8').trim());

describe('libvirt driver on two hosts', { timeout: 600_000 }, () => {
  before(
    async () => {
      execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), loadConfig().imageDir], { stdio: 'inherit' });
      const out = execFileSync('bash', [script, 'start', root, 'two-a', 'two-b'], { encoding: 'utf8' });
      uris = /FLOE_TEST_LIBVIRT_URIS='([^']*)'/.exec(out)?.[1]?.split(' ') ?? [];
      assert.equal(uris.length, 2);
      driver = new LibvirtHypervisor({
        hosts: [
          { name: 'two-a', uri: uris[0] ?? '', pool: 'floe', spiceListen: '127.0.0.1', accelerator: 'tcg' },
          { name: 'two-b', uri: uris[1] ?? '', pool: 'floe', spiceListen: '127.0.0.1', accelerator: 'tcg' },
        ],
      });
      // Only two-b has the template: placement must go there.
      await driver.installTemplate('two-b', template);
    },
    { timeout: 600_000 },
  );

  after(async () => {
    for (const name of ['two-a', 'two-b']) {
      try {
        process.kill(libvirtdPid(name), 'SIGCONT');
      } catch {
        // not running
      }
    }
    await driver?.stopAll().catch(() => undefined);
    driver?.close();
    execFileSync('bash', [script, 'stop', root], { stdio: 'inherit' });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('places a desktop on the host that has the template, and shows both hosts with figures', { timeout: 120_000 }, async () => {
    await driver.refresh();
    const before = driver.hostStatus();
    assert.deepEqual(before.map((h) => [h.name, h.state]), [['two-a', 'up'], ['two-b', 'up']]);
    assert.deepEqual(before.find((h) => h.name === 'two-a')?.volumes, []);
    assert.deepEqual(before.find((h) => h.name === 'two-b')?.volumes, ['demo-base.qcow2', 'demo-initrd.img', 'demo-vmlinuz']);
    const info = await driver.start({ id: 'placed-1', template });
    assert.deepEqual(driver.desktopHost('placed-1'), { host: 'two-b', reachable: true });
    const b = driver.hostStatus().find((h) => h.name === 'two-b');
    assert.equal(b?.desktops, 1);
    assert.ok((b?.memoryTotalBytes ?? 0) > 0 && (b?.memoryFreeBytes ?? 0) > 0, 'memory figures from libvirt');
    assert.ok(b?.ksm && Number.isInteger(b.ksm.pagesShared), 'KSM figures from libvirt');
    await driver.setConsolePassword('placed-1', 'placed-pw', 60);
    assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'placed-pw'), 'ok');
  });

  it('a host that stops answering is down within 10 s, its desktop unreachable but not gone; it comes back', { timeout: 120_000 }, async () => {
    const info = (await driver.list()).find((vm) => vm.id === 'placed-1');
    assert.ok(info, 'the desktop of the first test runs');
    const exits: string[] = [];
    driver.onExit((id) => exits.push(id));
    const pid = libvirtdPid('two-b');
    process.kill(pid, 'SIGSTOP');
    try {
      const { ms: downAfter } = await waitUntil('two-b marked down', () => driver.hostStatus().find((h) => h.name === 'two-b')?.state === 'down', {
        timeoutMs: 10_000,
        intervalMs: 100,
      });
      console.log(`host marked down ${downAfter} ms after its libvirtd stopped answering`);
      assert.equal(driver.hostStatus().find((h) => h.name === 'two-a')?.state, 'up', 'the other host is up');
      assert.deepEqual(driver.desktopHost('placed-1'), { host: 'two-b', reachable: false });
      await assert.rejects(driver.setConsolePassword('placed-1', 'while-down', 30), LivenessUnknownError);
      await assert.rejects(driver.stop('placed-1'), LivenessUnknownError);
      assert.deepEqual((await driver.list()).map((vm) => vm.id), ['placed-1'], 'still listed');
      // No other host has the template: a new desktop has nowhere to go, and says why.
      await assert.rejects(driver.start({ id: 'placed-2', template }), /two-a lacks the template; two-b is down/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const { ms: upAfter } = await waitUntil('two-b up again', () => driver.hostStatus().find((h) => h.name === 'two-b')?.state === 'up', {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    console.log(`host up again ${upAfter} ms after its libvirtd answered`);
    assert.deepEqual(driver.desktopHost('placed-1'), { host: 'two-b', reachable: true });
    assert.deepEqual(exits, [], 'no exit was reported');
    await driver.setConsolePassword('placed-1', 'after-outage', 60);
    assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'after-outage'), 'ok');
    await driver.destroy('placed-1');
    assert.deepEqual(await driver.list(), []);
  });
});
