/**
 * Benchmarks of instant desktops, one figure each (bench/figures.ts; the goal or the figure it
 * replaces is said in the metric's name):
 * - snapshot: building the demo template's snapshot (boot, settle, save) and its size;
 * - accelerator: deciding the accelerator with `auto` (remembered per host / PVM known at once);
 * - open-no-spare: a person asks an instant pool with no spare for a desktop → it is assigned
 *   and its screen is drawn (QMP screendump not black), median of 5, and a cold boot for contrast;
 * - spare-replenish: a spare is taken → its replacement is ready (the reconcile loop running);
 * - clones-20: 20 clones started one after another, spawn → running (p50/p99);
 * - clone-memory: 5 idle clones after 60 s with KSM on: PSS and private memory of each, and the
 *   first's resident set. KSM's settings are put back afterwards.
 * The same in the browser (click → first frame in Chromium) is bench/browser.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Broker } from '../server/broker/broker';
import { ConsoleSessions } from '../server/broker/console-sessions';
import { PoolDefinitionSchema, templateOf } from '../server/broker/pools';
import { versionLabel } from '../server/broker/template-versions';
import { loadConfig, repoRoot } from '../server/config';
import { openDatabase } from '../server/db/database';
import { readProcessMemory } from '../server/host/clone-memory';
import { configureKsm, readKsm } from '../server/host/ksm';
import { forgetAcceleratorProbe, resolveAccelerator } from '../server/hypervisor/qemu/accelerator';
import { demoTemplate } from '../server/hypervisor/qemu/demo-template';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { TemplateSnapshots } from '../server/hypervisor/qemu/template-snapshot';
import { waitUntil } from '../test/wait-until';
import { median, percentile, report } from './figures';

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;

/** True once the guest's screen has something drawn on it. */
async function screenDrawn(hypervisor: QemuHypervisor, id: string, file: string): Promise<boolean> {
  await hypervisor.screendump(id, file);
  const data = fs.readFileSync(file);
  const offset = data.indexOf('255\n', 0, 'latin1') + 4;
  for (let i = offset; i < data.length; i++) if (data[i]! > 40) return true;
  return false;
}

export async function instantClonesBench(): Promise<void> {
  const { imageDir } = loadConfig();
  execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'ignore' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-instant-'));
  const template = demoTemplate(imageDir);

  // The accelerator decision as a fresh Floe makes it (no cached verdict in this process).
  forgetAcceleratorProbe();
  const t0 = Date.now();
  const decision = await resolveAccelerator('auto', { kernel: template.kernel!, initrd: template.initrd! }, { verdictFile: path.join(dataDir, 'accelerator.json') });
  report('accelerator', `auto decision (${decision.accelerator}: ${decision.reason}; was a 20 s probe at every start)`, (Date.now() - t0) / 1000, 's');
  forgetAcceleratorProbe();

  const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
  const snapshots = new TemplateSnapshots({ host: hypervisor, root: path.join(dataDir, 'snapshots') });
  const database = await openDatabase({ dataDir });
  const broker = new Broker({
    db: database.db,
    engine: database.engine,
    hypervisor,
    sessions: new ConsoleSessions(database.db),
    imageDir,
    log: pino({ level: 'silent' }),
    snapshots,
  });
  const ksmBefore = await readKsm();
  const screen = path.join(dataDir, 'screen.ppm');
  try {
    const built = Date.now();
    const snapshot = await snapshots.build(template, versionLabel(1));
    report('snapshot', 'build: boot + settle + save, once per template version', (Date.now() - built) / 1000, 's');
    report('snapshot', 'saved state size (88 MiB by hand)', fs.statSync(snapshot.stateFile).size / MiB, 'MiB');

    // Open with no spare: an instant pool and a cold one, 5 people each.
    const pools = [
      PoolDefinitionSchema.parse({ name: 'instant', title: 'Instant', kind: 'stateless', template: 'demo', spares: 0, maxSize: 30 }),
      PoolDefinitionSchema.parse({ name: 'cold', title: 'Cold', kind: 'stateless', template: 'demo', spares: 0, maxSize: 30, instant: false }),
    ];
    await broker.definePools(pools);
    for (const pool of pools) {
      const times: number[] = [];
      const runs = pool.instant ? 5 : 1;
      for (let i = 0; i < runs; i++) {
        const started = Date.now();
        const desktop = await broker.assignDesktop(`${pool.name}-user-${i}`, pool.name);
        await waitUntil('desktop ready', async () => (await broker.getDesktop(desktop.id))?.state === 'assigned', { timeoutMs: 180_000, intervalMs: 10 });
        await waitUntil('screen drawn', () => screenDrawn(hypervisor, desktop.id, screen), { timeoutMs: 60_000, intervalMs: 10 });
        times.push((Date.now() - started) / 1000);
        await broker.destroyDesktop(desktop.id);
      }
      if (pool.instant) report('open-no-spare', 'instant clone: asked → assigned + screen drawn, median (goal ≤1.0 s; was 6.0 s)', median(times), 's');
      else report('open-no-spare', 'cold boot: the same without instant clones', times[0]!, 's');
    }

    // A spare taken is replaced: from the assignment to a new spare ready, the loop running.
    const sparePool = PoolDefinitionSchema.parse({ name: 'spare', title: 'Spare', kind: 'stateless', template: 'demo', spares: 1, maxSize: 30 });
    await broker.definePools([sparePool]);
    await broker.reconcile();
    await broker.settle();
    const stopLoop = broker.startReconciling(2000);
    const readySpares = async () =>
      database.db.selectFrom('desktops').select('id').where('pool_name', '=', 'spare').where('state', '=', 'ready').where('user_id', 'is', null).execute();
    const replenish: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = (await readySpares()).map((r) => r.id);
      const taken = Date.now();
      const desktop = await broker.assignDesktop(`spare-user-${i}`, 'spare');
      if (!before.includes(desktop.id)) throw new Error('the spare was not handed out');
      await waitUntil('spare replenished', async () => (await readySpares()).length > 0, { timeoutMs: 60_000, intervalMs: 10 });
      replenish.push((Date.now() - taken) / 1000);
    }
    stopLoop();
    await broker.settle();
    report('spare-replenish', 'spare taken → replacement ready, median (goal ≤1.0 s)', median(replenish), 's');

    // 20 clones one after another.
    const spawnToRunning: number[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `bench-clone-${i}`;
      const started = Date.now();
      await hypervisor.start({ id, template: templateOf(pools[0]!, imageDir), snapshot });
      await hypervisor.waitReady(id, template.readiness, 30_000);
      spawnToRunning.push(Date.now() - started);
    }
    report('clones-20', 'spawn → running p50 (a cold boot takes 5-6 s)', percentile(spawnToRunning, 50), 'ms');
    report('clones-20', 'spawn → running p99', percentile(spawnToRunning, 99), 'ms');
    for (let i = 5; i < 20; i++) await hypervisor.destroy(`bench-clone-${i}`);

    // Memory of 5 idle clones after 60 s with KSM on.
    let ksmNote = 'KSM on (pages_to_scan 2000, sleep 20 ms)';
    try {
      await configureKsm({ running: true, pagesToScan: 2000, sleepMillis: 20 });
    } catch (error) {
      ksmNote = `KSM could not be turned on: ${(error as Error).message}`;
    }
    await sleep(60_000);
    const pids = (await hypervisor.list()).filter((vm) => vm.id.startsWith('bench-clone-')).map((vm) => vm.pid);
    const memory = (await Promise.all(pids.map(readProcessMemory))).filter((m) => m !== undefined);
    const pss = memory.map((m) => m.pssBytes / MiB);
    const priv = memory.map((m) => m.privateBytes / MiB);
    report('clone-memory', `first clone's resident set (${ksmNote})`, memory[0]!.rssBytes / MiB, 'MiB');
    report('clone-memory', `PSS of each idle clone, median of ${pss.map((v) => round(v, 0)).join('/')} MiB (148 MiB each without KSM)`, median(pss), 'MiB');
    report('clone-memory', 'what one more idle clone costs (its private memory), median', median(priv), 'MiB');
    report('clone-memory', 'KSM pages sharing, host-wide', (await readKsm()).pagesSharing, 'pages');
  } finally {
    await broker.settle();
    await hypervisor.stopAll();
    hypervisor.close();
    await database.close();
    if (ksmBefore.available) {
      await configureKsm({ running: ksmBefore.running, pagesToScan: ksmBefore.pagesToScan, sleepMillis: ksmBefore.sleepMillis }).catch(() => undefined);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// Alone: FLOE_LOG_LEVEL=warn npx tsx bench/instant-clones.ts
if (process.argv[1]?.endsWith('instant-clones.ts')) await instantClonesBench();
