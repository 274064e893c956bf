/**
 * One contract for every hypervisor driver, run against the embedded QEMU driver and the
 * libvirt driver alike (real QEMU under TCG; libvirt through two libvirtd "hosts" that
 * scripts/libvirt.sh starts in their own mount namespaces and this file stops again): boot of
 * the demo guest to its ready marker, SPICE ticketing checked with a real SPICE login (no
 * password, wrong, right, expired), a console through the real relay (createConsoleRelay) to
 * the VM's SPICE port, a fresh driver instance re-finding the VM after a "Floe restart", an
 * exit Floe did not ask for reported, stop keeping the disk, start again on it, destroy; and
 * instant clones, which the QEMU driver has and the libvirt driver declares it lacks (a clone
 * request boots cold there). Every VM started here is gone in `after`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, createWebSocketStream } from 'ws';
import { waitUntil } from '../../test/wait-until';
import { loadConfig, repoRoot } from '../config';
import { createConsoleRelay } from '../console/relay';
import { LibvirtHypervisor } from './libvirt/libvirt-hypervisor';
import { demoTemplate } from './qemu/demo-template';
import { isProcessRunning } from './qemu/process-check';
import { QemuHypervisor } from './qemu/qemu-hypervisor';
import { trySpiceLogin } from './qemu/spice-login';
import { TemplateSnapshots } from './qemu/template-snapshot';
import type { Hypervisor, SnapshotSource, VmInfo } from './types';

const imageDir = loadConfig().imageDir;
const template = demoTemplate(imageDir);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-contract-'));
const libvirtRoot = path.join(scratch, 'libvirt');

type Driver = Hypervisor & { close(): void; stopAll(): Promise<string[]> };

/** What the contract needs to know of a driver beyond the interface. */
interface DriverUnderTest {
  name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A new driver instance, as a (re)started Floe makes one. */
  create(): Driver;
  /** Ends the VM behind Floe's back (kill -9 of QEMU / virsh destroy). */
  killBehindFloesBack(id: string, info: VmInfo): Promise<void>;
  diskExists(id: string): Promise<boolean>;
  /** Template snapshots, for a driver that has instant clones. */
  snapshots?(driver: Driver): SnapshotSource;
}

const qemuData = path.join(scratch, 'qemu');
const qemuDriver: DriverUnderTest = {
  name: 'qemu',
  async setUp() {},
  async tearDown() {},
  create: () => new QemuHypervisor({ dataDir: qemuData, accelerator: 'tcg' }),
  async killBehindFloesBack(_id, info) {
    process.kill(info.pid, 'SIGKILL');
  },
  async diskExists(id) {
    return fs.existsSync(path.join(qemuData, 'desktops', id, 'disk.qcow2'));
  },
  snapshots: (driver) => new TemplateSnapshots({ host: driver as QemuHypervisor, root: path.join(scratch, 'snapshots') }),
};

let libvirtUris: string[] = [];
const virsh = (...args: string[]) => execFileSync('virsh', ['-c', libvirtUris[0] ?? '', ...args], { encoding: 'utf8' });
const libvirtDriver: DriverUnderTest = {
  name: 'libvirt',
  async setUp() {
    const out = execFileSync('bash', [path.join(repoRoot, 'scripts', 'libvirt.sh'), 'start', libvirtRoot, 'contract-a'], { encoding: 'utf8' });
    libvirtUris = /FLOE_TEST_LIBVIRT_URIS='([^']*)'/.exec(out)?.[1]?.split(' ') ?? [];
    assert.equal(libvirtUris.length, 1, 'scripts/libvirt.sh printed the host URI');
    const installer = this.create() as LibvirtHypervisor;
    await installer.installTemplate('contract-a', template);
    installer.close();
  },
  async tearDown() {
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'libvirt.sh'), 'stop', libvirtRoot], { stdio: 'inherit' });
  },
  create: () =>
    new LibvirtHypervisor({
      hosts: [{ name: 'contract-a', uri: libvirtUris[0] ?? '', pool: 'floe', spiceListen: '127.0.0.1', accelerator: 'tcg' }],
    }),
  async killBehindFloesBack(id) {
    virsh('destroy', `floe-${id}`);
  },
  async diskExists(id) {
    try {
      virsh('vol-info', '--pool', 'floe', `desktop-${id}.qcow2`);
      return true;
    } catch {
      return false;
    }
  },
};

/** A SPICE login through the console relay: a real HTTP server, the relay, a ws client. */
async function spiceLoginThroughRelay(target: { host: string; port: number }, password: string): Promise<string> {
  const relay = createConsoleRelay({ resolve: async () => ({ target, sessionKey: 'contract' }) });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (!relay.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/console/ws`, 'binary');
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const stream = createWebSocketStream(ws);
    return await trySpiceLogin('', 0, password, { socket: stream as unknown as net.Socket, timeoutMs: 10_000 });
  } finally {
    ws.terminate();
    await relay.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

const leftovers: Driver[] = [];

for (const subject of [qemuDriver, libvirtDriver]) {
  describe(`hypervisor contract: ${subject.name}`, { timeout: 600_000 }, () => {
    const id = `contract-${subject.name}`;
    const make = () => {
      const driver = subject.create();
      leftovers.push(driver);
      return driver;
    };
    let driver: Driver;
    let info: VmInfo;

    before(
      async () => {
        execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'inherit' });
        await subject.setUp();
        driver = make();
      },
      { timeout: 600_000 },
    );

    after(async () => {
      for (const each of leftovers.splice(0)) {
        await each.stopAll().catch(() => undefined);
        each.close();
      }
      await subject.tearDown();
    });

    it('boots the demo guest to its ready marker; SPICE refuses every login until a password is set', { timeout: 180_000 }, async () => {
      const started = Date.now();
      info = await driver.start({ id, template });
      assert.equal(info.id, id);
      assert.equal(info.accelerator, 'tcg');
      assert.ok(info.spicePort > 0);
      assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'anything'), 'denied');
      await driver.waitReady(id, template.readiness, 150_000);
      console.log(`${subject.name}: demo guest ready ${Date.now() - started} ms after start()`);
      assert.deepEqual((await driver.list()).map((vm) => vm.id), [id]);
    });

    it('sets a SPICE password: wrong is denied, right is let in, an expired one is denied', { timeout: 60_000 }, async () => {
      await driver.setConsolePassword(id, 'contract-pw-1', 60);
      assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'wrong-password'), 'denied');
      assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'contract-pw-1'), 'ok');
      await driver.setConsolePassword(id, 'contract-short', 1);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'contract-short'), 'denied');
    });

    it('carries a console through the relay to the VM', { timeout: 60_000 }, async () => {
      await driver.setConsolePassword(id, 'through-relay', 60);
      const target = { host: info.spiceHost, port: info.spicePort };
      assert.equal(await spiceLoginThroughRelay(target, 'through-relay'), 'ok');
      assert.equal(await spiceLoginThroughRelay(target, 'not-it'), 'denied');
    });

    it('a fresh driver instance (Floe restarted) re-finds the VM and drives it', { timeout: 60_000 }, async () => {
      driver.close();
      driver = make();
      const found = await driver.list();
      assert.deepEqual(
        found.map((vm) => [vm.id, vm.spicePort, vm.startedAt]),
        [[id, info.spicePort, info.startedAt]],
      );
      await driver.setConsolePassword(id, 'after-restart', 30);
      assert.equal(await trySpiceLogin(info.spiceHost, info.spicePort, 'after-restart'), 'ok');
    });

    it('reports a VM that ends behind Floe\'s back within 5 s and keeps its disk', { timeout: 60_000 }, async () => {
      const exits: string[] = [];
      driver.onExit((exited) => exits.push(exited));
      await subject.killBehindFloesBack(id, info);
      const { ms } = await waitUntil('the exit report', () => exits.includes(id), { timeoutMs: 5000, intervalMs: 100 });
      console.log(`${subject.name}: exit noticed after ${ms} ms`);
      assert.deepEqual(await driver.list(), []);
      assert.ok(await subject.diskExists(id), 'the disk is kept');
    });

    it('starts again on the same disk; stop keeps it, destroy removes it; Floe\'s own stops are not reported', { timeout: 240_000 }, async () => {
      const exits: string[] = [];
      driver.onExit((exited) => exits.push(exited));
      info = await driver.start({ id, template });
      await driver.waitReady(id, template.readiness, 150_000);
      await driver.stop(id);
      assert.deepEqual(await driver.list(), []);
      assert.ok(await subject.diskExists(id), 'stop keeps the disk');
      await driver.stop(id); // a stopped desktop stops fine
      await assert.rejects(driver.waitReady(id, template.readiness, 1000), /not running/);
      await driver.destroy(id);
      assert.equal(await subject.diskExists(id), false, 'destroy removes the disk');
      await new Promise((resolve) => setTimeout(resolve, 1500)); // a poll or two: nothing may be reported
      assert.deepEqual(exits, []);
    });

    it(subject.snapshots ? 'starts an instant clone from a template snapshot' : 'declares no instant clones: a clone request boots cold', { timeout: 300_000 }, async () => {
      const cloneId = `${id}-clone`;
      if (subject.snapshots) {
        const snapshots = subject.snapshots(driver);
        const snapshot = await snapshots.build(template, 'contract-v1');
        const clone = await driver.start({ id: cloneId, template, snapshot });
        assert.equal(clone.restoredFrom, snapshot.key, 'restored from the snapshot');
        await driver.waitReady(cloneId, template.readiness, 60_000);
      } else {
        const fake = { key: 'none', stateFile: '/nonexistent/state', frozenDisk: '/nonexistent/disk.qcow2' };
        const cold = await driver.start({ id: cloneId, template, snapshot: fake });
        assert.equal(cold.restoredFrom, undefined, 'booted cold');
        await driver.waitReady(cloneId, template.readiness, 150_000);
      }
      await driver.destroy(cloneId);
      assert.deepEqual(await driver.list(), []);
      if (subject.name === 'qemu') assert.equal(isProcessRunning(info.pid), false);
    });
  });
}

after(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});
