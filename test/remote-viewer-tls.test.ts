/**
 * remote-viewer itself (Debian's virt-viewer, under Xvfb) opens a real desktop through Floe's
 * SPICE proxy with TLS, from a `.vv` file shaped like lib/remote-viewer.ts's: `tls-port`,
 * `secure-channels=all`, `ca`, `host-subject`, `proxy`. It verifies the proxy's certificate
 * against Floe's CA, logs in with the SPICE password and opens its other channels (which it does
 * only after a good login). A `.vv` naming another CA gets no channel to the desktop: the TLS
 * handshake fails before any SPICE byte. Skipped where remote-viewer or xvfb-run are missing
 * (scripts/setup.sh installs them with the browser tools). The VM and viewers are stopped after.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../server/config';
import { spiceChannelTypes } from '../server/console/link-header';
import { createSpiceProxy, type SpiceProxy } from '../server/console/spice-proxy';
import { ensureSpiceTls } from '../server/host/spice-tls';
import { demoTemplate } from '../server/hypervisor/qemu/demo-template';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { waitUntil } from './wait-until';

const hasViewer = ['/usr/bin/remote-viewer', '/usr/bin/xvfb-run'].every((file) => fs.existsSync(file));
const TICKET = randomBytes(30).toString('hex');

/** Ends xvfb-run with its Xvfb and remote-viewer (their own process group); one already gone is fine. */
function killGroup(viewer: ChildProcess): void {
  try {
    process.kill(-viewer.pid!, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

describe('remote-viewer over TLS through the SPICE proxy (real QEMU, real remote-viewer)', { skip: hasViewer ? false : 'remote-viewer or xvfb-run missing' }, () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-rv-tls-'));
  const hypervisor = new QemuHypervisor({ dataDir: path.join(folder, 'vms'), accelerator: 'tcg' });
  const id = 'rv-tls';
  const viewers: ChildProcess[] = [];
  const channelsSeen: number[] = [];
  const refusals: string[] = [];
  let proxy: SpiceProxy;
  let proxyPort = 0;
  const password = randomBytes(12).toString('hex');
  const certificates = ensureSpiceTls(folder);

  before(async () => {
    const vm = await hypervisor.start({ id, template: demoTemplate(loadConfig().imageDir) });
    await hypervisor.setConsolePassword(id, password, 600);
    proxy = createSpiceProxy({
      tls: { key: certificates.key, cert: certificates.cert },
      onRefusal: (_status, reason) => refusals.push(reason),
      resolve: async (authority) =>
        authority.startsWith(`${TICKET}.console.floe:`)
          ? { target: { host: vm.spiceHost, port: vm.spicePort }, sessionKey: 'rv', admitChannel: (link) => void channelsSeen.push(link.channelType) }
          : { status: 401, reason: 'console ticket unknown' },
    });
    proxy.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => proxy.server.once('listening', resolve));
    proxyPort = (proxy.server.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const viewer of viewers) killGroup(viewer);
    await proxy?.close();
    await hypervisor.stopAll();
    hypervisor.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  /** Writes a .vv the way lib/remote-viewer.ts does and starts remote-viewer on it under Xvfb. */
  function openViewer(ca: string): ChildProcess {
    const file = path.join(folder, `${randomBytes(4).toString('hex')}.vv`);
    const lines = [
      '[virt-viewer]',
      'type=spice',
      `host=${TICKET}.console.floe`,
      'tls-port=5901',
      'secure-channels=all',
      `ca=${ca.trim().replace(/\r?\n/g, '\\n')}`,
      `host-subject=${certificates.subject}`,
      `password=${password}`,
      `proxy=http://127.0.0.1:${proxyPort}`,
      'title=TLS check',
    ];
    fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    const viewer = spawn('xvfb-run', ['-a', 'remote-viewer', file], { detached: true, stdio: 'ignore', env: { ...process.env, HOME: folder } });
    viewers.push(viewer);
    return viewer;
  }

  it('opens the desktop: TLS checked against Floe CA, login accepted, further channels opened', async () => {
    const viewer = openViewer(certificates.ca);
    // spice-gtk opens display, inputs and cursor only once the main channel's login succeeded.
    await waitUntil('remote-viewer to open more than the main channel', () => channelsSeen.includes(spiceChannelTypes.display), { timeoutMs: 60_000, intervalMs: 100 });
    assert.equal(channelsSeen[0], spiceChannelTypes.main);
    const [active] = proxy.activeSessions();
    assert.ok(active && active.channels >= 2 && active.bytesToBrowser > 0, 'the session carries the desktop to remote-viewer');
    killGroup(viewer);
    await waitUntil('the session to end', () => proxy.activeSessions().length === 0, { timeoutMs: 15_000, intervalMs: 100 });
  });

  it('a .vv naming another CA reaches no desktop: remote-viewer refuses the certificate', async () => {
    const otherCa = ensureSpiceTls(fs.mkdtempSync(path.join(folder, 'other-'))).ca;
    const before = channelsSeen.length;
    openViewer(otherCa);
    // It reaches the proxy (the CONNECT), then gives up in the TLS handshake: no link message comes.
    await waitUntil('remote-viewer to abandon the TLS handshake', () => refusals.includes('TLS handshake failed'), { timeoutMs: 60_000, intervalMs: 100 });
    assert.equal(channelsSeen.length, before, 'no SPICE channel reached the admission');
    assert.deepEqual(proxy.activeSessions(), []);
  });
});
