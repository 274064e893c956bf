/**
 * Time to a desktop in a real browser: Debian's Chromium (through Playwright) against a real Floe
 * (production build, the demo pools, real QEMU under TCG), from the click on "Open desktop" to
 * the first guest frame drawn on the console's canvas. Three cases:
 * - warm spare: the stateless "Fresh desktop" pool with its spare booted and waiting;
 * - no spare: the persistent "Demo desktop" pool keeps none, so the person's desktop is made
 *   there and then, as an instant clone of the demo template's saved state;
 * - console page reload: the desktop runs; the page is loaded again (a reconnect).
 * Each run starts a fresh Floe (its own data folder; the template's saved state is shared
 * through the image folder) and times each case once; the median over `runs` is reported.
 * Needs `next build` done; it waits for the saved state and the spare before it starts timing.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page, chromium } from '@playwright/test';
import { litPixels, signIn } from '../e2e/page-steps';
import { qemuProcessesUnder, startFloe, stopFloe, type StartedFloe } from '../scripts/floe-process';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { check, median, report } from './figures';

export interface BrowserBenchOptions {
  /** How many times each case is timed. */
  runs: number;
}

interface OverviewPool {
  definition: { name: string };
  sparesReady: number;
  template?: { snapshot: { state: string } | null } | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `ready` says yes, asking every 250 ms. */
async function waitUntil(ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    check(Date.now() < deadline, `${what} within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** Milliseconds from now until the console on `page` shows the guest's first frame. */
async function untilFirstFrame(page: Page, since: number): Promise<number> {
  await waitUntil(async () => (await litPixels(page).catch(() => 0)) > 200, 120_000, 'the guest screen was drawn');
  return Date.now() - since;
}

export async function browserBench(options: BrowserBenchOptions): Promise<void> {
  const warm: number[] = [];
  const noSpare: number[] = [];
  const reload: number[] = [];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  try {
    for (let run = 0; run < options.runs; run++) await timeOneRun(browser, { warm, noSpare, reload });
  } finally {
    await browser.close();
  }
  report('browser', 'warm spare: "Open desktop" → first frame', median(warm), 'ms');
  report('browser', 'no spare (instant clone): "Open desktop" → first frame', median(noSpare), 'ms');
  report('browser', 'console page reload → first frame', median(reload), 'ms');
}

/** One run on a fresh Floe (its own data folder): each case timed once, for alice. */
async function timeOneRun(browser: Browser, times: { warm: number[]; noSpare: number[]; reload: number[] }): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-browser-'));
  const password = randomBytes(12).toString('base64url');
  let server: StartedFloe | undefined;
  try {
    server = await startFloe(dataDir, password, { env: { FLOE_ACCEL: 'tcg', FLOE_LOG_LEVEL: 'warn' }, timeoutMs: 90_000 });
    const context = await browser.newContext({ baseURL: server.url });
    const admin = await context.newPage();
    await signIn(admin, 'admin', password);
    const pool = async (name: string) => {
      const { pools } = (await (await admin.request.get('/api/admin/overview')).json()) as { pools: OverviewPool[] };
      return pools.find((p) => p.definition.name === name);
    };
    await waitUntil(async () => (await pool('demo'))?.template?.snapshot?.state === 'ready', 300_000, 'the demo template snapshot was saved');
    await waitUntil(async () => ((await pool('demo-fresh'))?.sparesReady ?? 0) > 0, 180_000, 'a Fresh desktop spare was ready');

    const personContext = await browser.newContext({ baseURL: server.url });
    const page = await personContext.newPage();
    await signIn(page, 'alice', password);
    let clicked = Date.now();
    await page.getByRole('listitem', { name: 'Fresh desktop' }).getByRole('button', { name: 'Open desktop' }).click();
    times.warm.push(await untilFirstFrame(page, clicked));

    const reloaded = Date.now();
    await page.reload();
    times.reload.push(await untilFirstFrame(page, reloaded));

    await page.goto('/desktops');
    clicked = Date.now();
    await page.getByRole('listitem', { name: 'Demo desktop' }).getByRole('button', { name: 'Open desktop' }).click();
    times.noSpare.push(await untilFirstFrame(page, clicked));
    await personContext.close();
    await context.close();
  } finally {
    if (server) await stopFloe(server);
    const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
    for (const vm of await hypervisor.list()) await hypervisor.destroy(vm.id);
    hypervisor.close();
    const left = qemuProcessesUnder(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
    check(left.length === 0, `QEMU processes of the browser bench were left running: ${left.join(', ')}`);
  }
}
