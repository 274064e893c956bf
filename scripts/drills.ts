/**
 * Fault drills (`npm run drills [name...]`): each makes a fault for real against a real Floe
 * (production build, its own data folder, real QEMU) and prints one line: what was lost (every
 * desktop's QEMU and disk must still be there: 0), what the person saw, and how long the portal
 * took to answer normally again after the fault ended. Exits 1 when a drill loses anything or
 * the person was not told.
 *
 *   handles   Floe under `prlimit --nofile=400`, flooded with half-open HTTP connections
 *   database  Floe on a private PostgreSQL cluster, stopped with `pg_ctl stop` for 30 s
 *   disk      the data folder on a 96 MiB tmpfs filled to the brim, then a desktop asked for
 *   qemu      kill -9 of a stateless spare's QEMU: a new spare replaces it
 *
 * Needs root (mount, prlimit, su postgres) and `next build` done. Every QEMU, server, mount
 * and cluster it makes is removed at the end.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { processLiveness } from '../server/hypervisor/qemu/process-check';
import { TEMPLATE_VM_PREFIX } from '../server/hypervisor/qemu/template-snapshot';
import { type StartedFloe, startFloe as startFloeProcess, stopFloe } from './floe-process';

const PASSWORD = 'drill-password-1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Floe = StartedFloe;

/** A drill's Floe: TCG, quiet logs, the drill's password; `wrapper` runs it under e.g. prlimit. */
function startFloe(dataDir: string, env: Record<string, string> = {}, wrapper: string[] = []): Promise<Floe> {
  return startFloeProcess(dataDir, PASSWORD, { env: { FLOE_ACCEL: 'tcg', FLOE_LOG_LEVEL: 'warn', ...env }, wrapper, timeoutMs: 90_000 });
}

interface DrillResult {
  lost: number;
  saw: string;
  recoveryMs: number;
  ok: boolean;
}

/** Status and body of a GET, or the network error's code. */
async function get(url: string, accept = 'text/html'): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(5000), redirect: 'manual' });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message) };
  }
}

/** Milliseconds until the sign-in page answers 200 again. */
async function timeToRecover(url: string, limitMs = 60_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if ((await get(`${url}/login`)).status === 200) return Date.now() - started;
    await sleep(100);
  }
  return Number.POSITIVE_INFINITY;
}

/** The desktops running now, with their pids and disks (a template VM building a snapshot quits by design: not a desktop). */
async function snapshot(vmsDir: string): Promise<{ id: string; pid: number; disk: string }[]> {
  const observer = new QemuHypervisor({ dataDir: vmsDir, accelerator: 'tcg', observeOnly: true });
  // "Cannot tell" (a process caught half-way through dying) means: look again shortly.
  let vms = await observer.list().catch(() => undefined);
  for (let tries = 1; vms === undefined && tries < 20; tries++) {
    await sleep(100);
    vms = await observer.list().catch((error: Error) => (tries === 19 ? Promise.reject(error) : undefined));
  }
  return vms!.filter((vm) => !vm.id.startsWith(TEMPLATE_VM_PREFIX)).map((vm) => ({ id: vm.id, pid: vm.pid, disk: path.join(observer.desktopFolder(vm.id), 'disk.qcow2') }));
}

/** Desktops of `before` whose QEMU or disk is gone (a desktop the drill killed itself is not counted). */
function lostOf(before: { id: string; pid: number; disk: string }[], except: string[] = []): number {
  const lost = before.filter((vm) => !except.includes(vm.id) && (processLiveness(vm.pid) === 'dead' || !fs.existsSync(vm.disk)));
  for (const vm of lost) console.error(`  lost: ${vm.id} (pid ${vm.pid}, disk ${vm.disk})`);
  return lost.length;
}

async function waitForVms(vmsDir: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await snapshot(vmsDir)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} desktops running after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Signs in through next-auth's credentials callback; returns the session cookie header. */
async function signIn(url: string, name: string): Promise<string> {
  const csrf = await fetch(`${url}/api/auth/csrf`);
  const cookies = csrf.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await fetch(`${url}/api/auth/callback/credentials`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies, origin: url },
    body: new URLSearchParams({ csrfToken, username: name, password: PASSWORD, json: 'true' }),
  });
  const session = response.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => /session-token/.test(c ?? ''));
  if (!session) throw new Error(`sign-in of ${name} failed (${response.status})`);
  return `${cookies}; ${session}`;
}

async function cleanUp(dataDir: string): Promise<void> {
  const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
  for (const vm of await hypervisor.list().catch(() => [])) await hypervisor.destroy(vm.id).catch(() => undefined);
  hypervisor.close();
}

// --- the drills ------------------------------------------------------------------------------

async function handlesDrill(dataDir: string): Promise<DrillResult> {
  const limit = 400;
  const floe = await startFloe(dataDir, { FLOE_KEEP_FILE_LIMIT: '1' }, ['prlimit', `--nofile=${limit}:${limit}`]);
  const vmsDir = path.join(dataDir, 'vms');
  const sockets: net.Socket[] = [];
  try {
    await waitForVms(vmsDir, 1);
    const before = await snapshot(vmsDir);
    const { port } = new URL(floe.url);
    // Half-open: a request line and no end. First up to a few handles short of the limit,
    // where Floe must refuse new work in words; then past it, where nothing may be lost.
    const flood = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const socket = net.connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write('GET /login HTTP/1.1\r\nHost: x\r\n');
        sockets.push(socket);
        if (i % 50 === 0) await sleep(20);
      }
    };
    const pid = floe.child.pid!;
    const openNow = () => fs.readdirSync(`/proc/${pid}/fd`).length;
    await flood(limit - 20 - openNow());
    await sleep(1500); // the handle watch looks once a second
    const during = await get(`${floe.url}/login`);
    await flood(limit);
    await sleep(2500); // exhausted: the QEMU pid checks run meanwhile and must decide nothing
    for (const socket of sockets) socket.destroy();
    const recoveryMs = await timeToRecover(floe.url);
    const told = during.status === 503 && /file handles/.test(during.body);
    const saw = during.status === 503 ? `503 "${/<p role="alert">([^<]*)/.exec(during.body)?.[1] ?? during.body}"` : `${during.status} ${during.body.slice(0, 60)}`;
    const lost = lostOf(before);
    return { lost, saw: `${saw}${told ? '' : ' (NOT TOLD)'}`, recoveryMs, ok: lost === 0 && told && Number.isFinite(recoveryMs) };
  } finally {
    for (const socket of sockets) socket.destroy();
    await stopFloe(floe);
  }
}

async function databaseDrill(dataDir: string): Promise<DrillResult> {
  const awaySeconds = Number(process.env.FLOE_DRILL_DB_SECONDS ?? 30);
  const version = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).pop();
  const bin = `/usr/lib/postgresql/${version}/bin`;
  const cluster = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-drill-pg-'));
  fs.chownSync(cluster, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const port = 5400 + Math.floor(Math.random() * 300);
  const asPostgres = (command: string) => execFileSync('su', ['postgres', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  asPostgres(`${bin}/initdb -D ${cluster}/data -U floe --auth=trust -N >/dev/null`);
  const pgCtl = (action: string) => asPostgres(`${bin}/pg_ctl -D ${cluster}/data -o "-p ${port} -k ${cluster} -c listen_addresses=127.0.0.1" -l ${cluster}/log -w ${action}`);
  pgCtl('start');
  let floe: Floe | undefined;
  try {
    asPostgres(`${bin}/createdb -h 127.0.0.1 -p ${port} -U floe floe`);
    floe = await startFloe(dataDir, { DATABASE_URL: `postgres://floe@127.0.0.1:${port}/floe` });
    const vmsDir = path.join(dataDir, 'vms');
    await waitForVms(vmsDir, 1);
    const before = await snapshot(vmsDir);
    pgCtl('stop -m fast');
    await sleep(2000);
    const page = await get(`${floe.url}/login`);
    const api = await get(`${floe.url}/api/desktops`, 'application/json');
    await sleep(Math.max(0, awaySeconds * 1000 - 2000));
    const stillAway = await get(`${floe.url}/api/desktops`, 'application/json');
    pgCtl('start');
    const recoveryMs = await timeToRecover(floe.url);
    const told = [page, api, stillAway].every((r) => r.status === 503 && /cannot reach its database/.test(r.body));
    const lost = lostOf(before);
    return {
      lost,
      saw: `${page.status}/${api.status}/${stillAway.status} "${(JSON.parse(api.body || '{}') as { error?: string }).error ?? api.body}"${told ? '' : ' (NOT TOLD)'}`,
      recoveryMs,
      ok: lost === 0 && told && Number.isFinite(recoveryMs),
    };
  } finally {
    if (floe) await stopFloe(floe);
    try {
      pgCtl('stop -m immediate');
    } catch {
      // already stopped
    }
    fs.rmSync(cluster, { recursive: true, force: true });
  }
}

async function diskDrill(dataDir: string): Promise<DrillResult> {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', dataDir]);
  let floe: Floe | undefined;
  try {
    floe = await startFloe(dataDir);
    const vmsDir = path.join(dataDir, 'vms');
    await waitForVms(vmsDir, 1);
    const before = await snapshot(vmsDir);
    const cookie = await signIn(floe.url, 'alice');
    // Fill the disk to the brim (dd stops at ENOSPC).
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${dataDir}/filler`, 'bs=1M'], { stdio: 'ignore' });
    } catch {
      // "No space left on device": full
    }
    const started = Date.now();
    const asked = await fetch(`${floe.url}/api/desktops`, {
      method: 'POST',
      headers: { cookie, origin: floe.url, 'content-type': 'application/json' },
      body: JSON.stringify({ pool: 'demo' }),
    });
    const answer = (await asked.json()) as { desktop?: { id: string }; error?: string };
    const desktop = answer.desktop;
    let message = answer.error ? `${asked.status} ${answer.error}` : `${asked.status}`;
    while (desktop && Date.now() - started < 30_000) {
      const list = await fetch(`${floe.url}/api/desktops`, { headers: { cookie } });
      const text = await list.text();
      const reason = /"(?:failureReason|failure_reason|message|reason)":"([^"]*full[^"]*)"/.exec(text)?.[1];
      if (reason) {
        message = reason;
        break;
      }
      await sleep(500);
    }
    const halfMade = desktop ? fs.existsSync(path.join(vmsDir, 'desktops', desktop.id, 'disk.qcow2.partial')) : false;
    fs.rmSync(`${dataDir}/filler`, { force: true });
    const recoveryMs = await timeToRecover(floe.url);
    const lost = lostOf(before);
    const told = /disk is full/.test(message) && message.includes(dataDir);
    if (!told) console.error(floe.output().split('\n').filter((line) => /request failed|failed/.test(line)).slice(-3).join('\n'));
    return {
      lost,
      saw: `"${message}"${told ? '' : ' (NOT TOLD)'}${halfMade ? ' (HALF-MADE DISK LEFT)' : ''}`,
      recoveryMs,
      ok: lost === 0 && told && !halfMade,
    };
  } finally {
    if (floe) await stopFloe(floe);
    await cleanUp(dataDir);
    execFileSync('umount', ['-l', dataDir]);
  }
}

async function qemuDrill(dataDir: string): Promise<DrillResult> {
  const floe = await startFloe(dataDir);
  const vmsDir = path.join(dataDir, 'vms');
  try {
    const deadline = Date.now() + 120_000;
    while (!(await snapshot(vmsDir)).some((vm) => vm.id.startsWith('demo-fresh-'))) {
      if (Date.now() > deadline) throw new Error('no demo-fresh spare ran within 120 s');
      await sleep(250);
    }
    const before = await snapshot(vmsDir);
    const spare = before.find((vm) => vm.id.startsWith('demo-fresh-'));
    process.kill(spare!.pid, 'SIGKILL');
    const killedAt = Date.now();
    let replacedMs = Number.POSITIVE_INFINITY;
    while (Date.now() - killedAt < 30_000) {
      const now = await snapshot(vmsDir);
      if (now.some((vm) => !before.some((old) => old.id === vm.id))) {
        replacedMs = Date.now() - killedAt;
        break;
      }
      await sleep(200);
    }
    const lost = lostOf(before, [spare!.id]);
    return {
      lost,
      saw: `spare ${spare!.id} killed; a new spare ${Number.isFinite(replacedMs) ? `running after ${replacedMs} ms` : 'NOT started'}`,
      recoveryMs: replacedMs,
      ok: lost === 0 && Number.isFinite(replacedMs),
    };
  } finally {
    await stopFloe(floe);
    await cleanUp(dataDir);
  }
}

const DRILLS: Record<string, (dataDir: string) => Promise<DrillResult>> = {
  handles: handlesDrill,
  database: databaseDrill,
  disk: diskDrill,
  qemu: qemuDrill,
};

async function main(): Promise<void> {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(DRILLS);
  let failed = 0;
  for (const name of names) {
    const drill = DRILLS[name];
    if (!drill) throw new Error(`no drill ${name}; drills: ${Object.keys(DRILLS).join(', ')}`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `floe-drill-${name}-`));
    try {
      const result = await drill(dataDir);
      if (!result.ok) failed++;
      console.log(
        `drill ${name.padEnd(8)} ${result.ok ? 'ok  ' : 'FAIL'} lost ${result.lost}  recovered in ${Number.isFinite(result.recoveryMs) ? `${(result.recoveryMs / 1000).toFixed(1)} s` : 'never'}  saw: ${result.saw}`,
      );
    } catch (error) {
      failed++;
      console.log(`drill ${name.padEnd(8)} FAIL ${(error as Error).message.split('\n')[0]}`);
    } finally {
      await cleanUp(dataDir).catch(() => undefined);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  process.exit(failed ? 1 : 0);
}

void main();
