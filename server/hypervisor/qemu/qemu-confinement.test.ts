/**
 * Tests of QEMU's confinement against real QEMU (TCG): with Floe's secrets in its environment,
 * a desktop's QEMU runs as the floe-qemu user (/proc/PID/status), under seccomp with the sandbox
 * flags on its command line, with an environment of PATH and LANG only (/proc/PID/environ), and
 * the desktop's files are root's 0600 in a 0700 folder. A screen dump (written by QEMU after it
 * dropped root) still works. Rules for who QEMU runs as are checked without QEMU. Needs root and
 * the user made by scripts/setup.sh; the VM is stopped and its folder removed afterwards.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../config';
import { demoTemplate } from './demo-template';
import { DEFAULT_QEMU_USER, QEMU_SANDBOX, lookUpUser, qemuEnvironment, resolveConfinement } from './qemu-confinement';
import { QemuHypervisor } from './qemu-hypervisor';
import { isProcessRunning } from './process-check';

const SECRETS = {
  NEXTAUTH_SECRET: 'confinement-test-auth-secret',
  DATABASE_URL: 'postgres://floe:confinement-test@127.0.0.1/floe',
  FLOE_OIDC_CLIENT_SECRET: 'confinement-test-oidc-secret',
  FLOE_DEMO_PASSWORD: 'confinement-test-demo-password',
};

function statusField(pid: number, field: string): string {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  assert.ok(line, `no ${field} in /proc/${pid}/status`);
  return line.slice(field.length + 1).trim();
}

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe('who QEMU runs as', () => {
  it('a Floe that is not root keeps its user and says so', () => {
    const confinement = resolveConfinement(DEFAULT_QEMU_USER, 1000);
    assert.equal(confinement.user, undefined);
    assert.match(confinement.note, /not root .*without -runas/);
  });

  it('a root Floe refuses a missing user or root itself', () => {
    assert.throws(() => resolveConfinement('floe-no-such-user', 0), /QEMU would run as root: .*floe-no-such-user.*scripts\/setup\.sh/);
    assert.throws(() => resolveConfinement('root', 0), /is root/);
  });

  it('the environment QEMU gets is PATH and LANG only', () => {
    assert.deepEqual(Object.keys(qemuEnvironment({ ...SECRETS, PATH: '/usr/bin', HOME: '/root' })).sort(), ['LANG', 'PATH']);
  });
});

const asRoot = process.getuid?.() === 0;
describe('a desktop QEMU under confinement (real QEMU, TCG)', { skip: asRoot ? false : 'needs root (QEMU switches users only from root)' }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-confine-'));
  const id = 'confine-a';
  let hypervisor: QemuHypervisor | undefined;
  const saved = Object.fromEntries(Object.keys(SECRETS).map((k) => [k, process.env[k]]));

  after(async () => {
    await hypervisor?.stopAll();
    hypervisor?.close();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs as floe-qemu, sandboxed, with no secret in its environment; its files are 0600 in a 0700 folder', async () => {
    const user = lookUpUser(DEFAULT_QEMU_USER);
    assert.ok(user, `the user ${DEFAULT_QEMU_USER} exists (scripts/setup.sh makes it)`);
    Object.assign(process.env, SECRETS);
    hypervisor = new QemuHypervisor({ dataDir, accelerator: 'tcg' });
    const info = await hypervisor.start({ id, template: demoTemplate(loadConfig().imageDir) });
    assert.ok(isProcessRunning(info.pid));

    // The uid switch happens once QEMU has opened its files; the first QMP answer comes after it.
    assert.equal(statusField(info.pid, 'Uid'), `${user.uid}\t${user.uid}\t${user.uid}\t${user.uid}`);
    assert.equal(statusField(info.pid, 'Gid'), `${user.gid}\t${user.gid}\t${user.gid}\t${user.gid}`);
    assert.equal(statusField(info.pid, 'CapEff'), '0000000000000000');
    assert.equal(statusField(info.pid, 'Seccomp'), '2', 'seccomp filter mode');
    assert.equal(statusField(info.pid, 'NoNewPrivs'), '1');
    const cmdline = fs.readFileSync(`/proc/${info.pid}/cmdline`, 'utf8').split('\0');
    assert.equal(cmdline[cmdline.indexOf('-sandbox') + 1], QEMU_SANDBOX);
    assert.match(QEMU_SANDBOX, /^on,.*spawn=deny/);
    assert.equal(cmdline[cmdline.indexOf('-runas') + 1], DEFAULT_QEMU_USER);

    const environ = fs.readFileSync(`/proc/${info.pid}/environ`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(environ.map((entry) => entry.split('=')[0]).sort(), ['LANG', 'PATH']);
    for (const secret of Object.values(SECRETS)) assert.ok(!environ.some((entry) => entry.includes(secret)), 'no secret in QEMU environment');

    const folder = hypervisor.desktopFolder(id);
    assert.equal(mode(folder), '700');
    for (const name of ['disk.qcow2', 'serial.log', 'qemu.log', 'vm.json']) {
      const file = path.join(folder, name);
      assert.equal(mode(file), '600', `${name} is 0600`);
      assert.equal(fs.statSync(file).uid, 0, `${name} is root's, not QEMU's`);
    }

    // QEMU writes a screen dump after it dropped root: into a file Floe made for it.
    const screen = path.join(dataDir, 'screen.ppm');
    await hypervisor.screendump(id, screen);
    assert.match(fs.readFileSync(screen).subarray(0, 2).toString('latin1'), /^P6/);
  });
});
