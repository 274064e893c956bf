/**
 * A real Floe server (server/main.ts, production build) on the libvirt driver with two hosts:
 * `good`, a real libvirtd started by scripts/libvirt.sh, and `silent`, a socket that accepts
 * connections and never answers (what a hung libvirtd or a stopped one behind a live socket
 * looks like). Floe must start, reconcile the good host (a spare boots there) and serve; the
 * silent host is down within 10 s of Floe's start. Then the good host's libvirtd stops
 * answering too (SIGSTOP): the person's desktop is shown unreachable, not failed, on My
 * desktops (API and page), its console page, the helpdesk person page and desktop API, and the
 * admin pool page's API; when libvirtd answers again (SIGCONT) it is reachable again.
 * Needs `npx next build` (scripts/test.sh builds first) and root (libvirtd in a namespace).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, repoRoot } from '../server/config';
import { LibvirtHypervisor } from '../server/hypervisor/libvirt/libvirt-hypervisor';
import { demoTemplate } from '../server/hypervisor/qemu/demo-template';
import { type StartedFloe, signInCookie, startFloe, stopFloe } from '../scripts/floe-process';
import { waitUntil } from './wait-until';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-silent-host-'));
const script = path.join(repoRoot, 'scripts', 'libvirt.sh');
const password = 'silent-host-test-pw';
const owner = `silent${process.pid}`;
const silentSocket = path.join(root, 'silent-sock');
const held: net.Socket[] = [];
const silentServer = net.createServer((socket) => held.push(socket)); // accepts, never answers
let floe: StartedFloe | undefined;
let goodUri = '';
let spawnedAt = 0;
const cookies: Record<string, string> = {};

const libvirtdPid = () => Number(fs.readFileSync(path.join(root, 'hosts', 'good', 'libvirtd.pid'), 'utf8').trim());

/** How the test polls Floe's API: every 200 ms, a request that fails meaning "not yet". */
const POLL = { intervalMs: 200, ignoreErrors: true };

async function getJson<T>(who: string, route: string): Promise<T> {
  if (!floe) throw new Error('Floe is not running');
  const response = await fetch(`${floe.url}${route}`, { headers: { cookie: cookies[who] ?? '' } });
  assert.equal(response.status, 200, `${route} as ${who}: ${response.status}`);
  return (await response.json()) as T;
}

async function getPage(who: string, route: string): Promise<string> {
  if (!floe) throw new Error('Floe is not running');
  const response = await fetch(`${floe.url}${route}`, { headers: { cookie: cookies[who] ?? '', 'accept-language': 'en' } });
  assert.equal(response.status, 200, `${route} as ${who}: ${response.status}`);
  return response.text();
}

/** The words as rendered (the message catalogue is in every page too, so the markup is matched). */
const BADGE_MINE = /<span class="badge failed">Server not answering<\/span>/;
const BADGE_STAFF = /<span class="badge failed spaced">Host not answering<\/span>/;
const CONSOLE_NOTICE = /<h1 id="unreachable-title">Your desktop(&#x27;|')s server is not answering<\/h1>/;

interface HostsBody {
  hosts: { name: string; state: string; desktopList: { id: string; reachable: boolean }[] }[];
}
interface OverviewBody {
  desktops: { rows: { id: string; state: string; host: string; unreachable: boolean }[] };
}
interface DesktopBody {
  desktop: { id: string; state: string; stage: string; unreachable: boolean };
}

describe('Floe on libvirt with a host that never answers', { timeout: 600_000 }, () => {
  before(
    async () => {
      const imageDir = loadConfig().imageDir;
      execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'inherit' });
      const out = execFileSync('bash', [script, 'start', path.join(root, 'hosts'), 'good'], { encoding: 'utf8' });
      goodUri = /FLOE_TEST_LIBVIRT_URIS='([^']*)'/.exec(out)?.[1] ?? '';
      assert.ok(goodUri, 'libvirt.sh printed the host URI');
      const good = { name: 'good', uri: goodUri, pool: 'floe', spiceListen: '127.0.0.1', accelerator: 'tcg' as const };
      const installer = new LibvirtHypervisor({ hosts: [good], owner });
      try {
        await installer.installTemplate('good', demoTemplate(imageDir));
      } finally {
        installer.close();
      }
      await new Promise<void>((resolve) => silentServer.listen(silentSocket, resolve));
      const hostsFile = path.join(root, 'hosts.json');
      fs.writeFileSync(
        hostsFile,
        JSON.stringify({ hosts: [good, { name: 'silent', uri: `qemu+unix:///system?socket=${silentSocket}`, accelerator: 'tcg' }] }),
      );
      const poolsFile = path.join(root, 'pools.json');
      fs.writeFileSync(
        poolsFile,
        JSON.stringify({
          pools: [{ name: 'fresh', title: 'Fresh desktop', kind: 'stateless', template: 'demo', memoryMiB: 256, vcpus: 1, spares: 1, maxSize: 2 }],
        }),
      );
      spawnedAt = Date.now();
      floe = await startFloe(path.join(root, 'data'), password, {
        env: { FLOE_HYPERVISOR: 'libvirt', FLOE_HOSTS_FILE: hostsFile, FLOE_POOLS_FILE: poolsFile, FLOE_LIBVIRT_OWNER: owner, FLOE_LOG_LEVEL: 'info' },
      });
      console.log(`Floe listened ${Date.now() - spawnedAt} ms after it was started, one host silent`);
      for (const name of ['admin', 'alice', 'helen']) cookies[name] = await signInCookie(floe.url, name, password);
    },
    { timeout: 600_000 },
  );

  after(async () => {
    try {
      process.kill(libvirtdPid(), 'SIGCONT');
    } catch {
      // not running
    }
    if (floe) await stopFloe(floe);
    for (const socket of held) socket.destroy();
    silentServer.close();
    // Destroys this test's domains (and every other one of its private libvirtd) and stops it.
    execFileSync('bash', [script, 'stop', path.join(root, 'hosts')], { stdio: 'inherit' });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('starts, marks the silent host down within 10 s and boots a spare on the good host', { timeout: 240_000 }, async () => {
    if (!floe) throw new Error('Floe is not running');
    // Floe's own log says when it started (its first line, before the hosts are asked) and when
    // it marked the host down; loading Node and the web app is not Floe's and is left out.
    const entries = floe
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{') && line.endsWith('}'))
      .map((line) => JSON.parse(line) as { time?: string; host?: string; msg?: string });
    const first = entries.find((entry) => entry.time);
    const marked = entries.find((entry) => entry.host === 'silent' && /marked down/.test(entry.msg ?? ''));
    assert.ok(first?.time && marked?.time, 'Floe logged its start and the silent host down');
    const downAfter = Date.parse(marked.time) - Date.parse(first.time);
    console.log(
      `silent host marked down ${downAfter} ms after Floe's first log line (${Date.parse(marked.time) - spawnedAt} ms after the process was spawned)`,
    );
    assert.ok(downAfter <= 10_000, `down ${downAfter} ms after start`);
    const hosts = await getJson<HostsBody>('admin', '/api/admin/hosts');
    assert.equal(hosts.hosts.find((h) => h.name === 'silent')?.state, 'down');
    assert.equal(hosts.hosts.find((h) => h.name === 'good')?.state, 'up');
    // The reconcile loop runs although one host is silent: the pool's spare boots on the good host.
    const spare = await waitUntil(
      'a spare ready on the good host',
      async () => (await getJson<OverviewBody>('admin', '/api/admin/overview')).desktops.rows.find((row) => row.state === 'ready'),
      { ...POLL, timeoutMs: 180_000 },
    );
    console.log(`spare ready ${spare.ms} ms later`);
    assert.equal(spare.value.host, 'good');
    assert.equal(spare.value.unreachable, false);
  });

  it("shows a desktop whose host stops answering as unreachable on every page, and reachable again", { timeout: 120_000 }, async () => {
    if (!floe) throw new Error('Floe is not running');
    const opened = await fetch(`${floe.url}/api/desktops`, {
      method: 'POST',
      headers: { cookie: cookies.alice ?? '', 'content-type': 'application/json', origin: floe.url },
      body: JSON.stringify({ pool: 'fresh' }),
    });
    assert.equal(opened.status, 200);
    const { desktop } = (await opened.json()) as DesktopBody;
    assert.equal(desktop.state, 'assigned', 'the spare was given');
    assert.equal(desktop.unreachable, false);
    const id = desktop.id;

    const pid = libvirtdPid();
    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const { ms } = await waitUntil(
        'the desktop shown unreachable',
        async () => (await getJson<DesktopBody>('alice', `/api/desktops/${id}`)).desktop.unreachable,
        { ...POLL, timeoutMs: 10_000 },
      );
      console.log(`desktop shown unreachable ${Date.now() - stoppedAt} ms after its host stopped answering (${ms} ms of polling)`);
      const mine = await getJson<{ pools: { desktop: DesktopBody['desktop'] | null }[] }>('alice', '/api/desktops');
      assert.deepEqual(
        mine.pools.map((p) => p.desktop && { state: p.desktop.state, unreachable: p.desktop.unreachable }),
        [{ state: 'assigned', unreachable: true }],
        'My desktops: still assigned (not failed), unreachable',
      );
      const row = (await getJson<OverviewBody>('admin', '/api/admin/overview')).desktops.rows.find((r) => r.id === id);
      assert.deepEqual(row && { state: row.state, host: row.host, unreachable: row.unreachable }, { state: 'assigned', host: 'good', unreachable: true });
      assert.equal((await getJson<DesktopBody>('helen', `/api/helpdesk/desktops/${id}`)).desktop.unreachable, true);
      const hosts = await getJson<HostsBody>('admin', '/api/admin/hosts');
      assert.deepEqual(hosts.hosts.find((h) => h.name === 'good')?.desktopList, [{ id, reachable: false }]);
      // The pages, in words (server-rendered, English; the markup, since the catalogue is in the page too).
      assert.match(await getPage('alice', '/desktops'), BADGE_MINE);
      assert.match(await getPage('alice', '/desktops'), /<p class="error">The server your desktop runs on is not answering\./);
      assert.match(await getPage('alice', `/desktops/${id}`), CONSOLE_NOTICE);
      assert.match(await getPage('helen', '/helpdesk/people/alice'), BADGE_STAFF);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const back = await waitUntil(
      'the desktop reachable again',
      async () => !(await getJson<DesktopBody>('alice', `/api/desktops/${id}`)).desktop.unreachable,
      { ...POLL, timeoutMs: 10_000 },
    );
    console.log(`reachable again ${back.ms} ms after its host answered`);
    const later = (await getJson<DesktopBody>('alice', `/api/desktops/${id}`)).desktop;
    assert.deepEqual({ state: later.state, unreachable: later.unreachable }, { state: 'assigned', unreachable: false });
    assert.doesNotMatch(await getPage('helen', '/helpdesk/people/alice'), BADGE_STAFF);
    assert.doesNotMatch(await getPage('alice', '/desktops'), BADGE_MINE);
    assert.doesNotMatch(await getPage('alice', `/desktops/${id}`), CONSOLE_NOTICE);
  });
});
