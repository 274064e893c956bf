/**
 * Playwright fixtures: a real Floe server per worker (production build, port 0, its own data
 * folder, the shared demo guest image, demo accounts with a known password) and helpers to
 * sign in and to read a desktop's serial log. Teardown stops the server and every VM it
 * started, and fails if a QEMU process of this data folder is left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Page, test as base, expect } from '@playwright/test';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface FloeServer {
  url: string;
  dataDir: string;
  password: string;
  hypervisor: QemuHypervisor;
  output: () => string;
}

export interface StartedFloe {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `server/main.ts` (with `env` on top of the test defaults) and resolves once it prints the address it listens on. */
export async function startFloe(dataDir: string, password: string, env: Record<string, string> = {}): Promise<StartedFloe> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      FLOE_DATA_DIR: dataDir,
      FLOE_IMAGE_DIR: process.env.FLOE_IMAGE_DIR ?? path.join(repoRoot, '.data', 'images'),
      FLOE_DEMO: '1',
      FLOE_DEMO_PASSWORD: password,
      FLOE_SPICE_PROXY_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Floe did not start in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Floe is ready at (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Floe exited with ${code} before it was ready:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

/** PIDs of QEMU processes whose command line mentions `dir`. */
export function qemuProcessesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('qemu-system') && cmdline.includes(dir)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Stops a Floe server and waits for its exit (SIGKILL when `signal` says so). */
export async function stopFloe(server: StartedFloe, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill(signal);
  await exited;
}

/** Destroys every VM of a test data folder and checks no QEMU of it is left; removes the folder. */
export async function cleanUpDataDir(dataDir: string): Promise<void> {
  const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
  for (const vm of await hypervisor.list()) await hypervisor.destroy(vm.id);
  hypervisor.close();
  const left = qemuProcessesUnder(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  expect(left, 'no QEMU process of this test run is left').toEqual([]);
}

export const test = base.extend<object, { floe: FloeServer }>({
  floe: [
    async ({}, use) => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-e2e-'));
      const password = randomBytes(12).toString('base64url');
      const server = await startFloe(dataDir, password);
      // Looks only: the running server owns its VMs' QMP sockets.
      const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg', observeOnly: true });
      try {
        await use({ url: server.url, dataDir, password, hypervisor, output: server.output });
      } finally {
        await stopFloe(server);
        hypervisor.close();
        await cleanUpDataDir(dataDir);
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ floe }, use) => use(floe.url),
});

export { expect };

/**
 * Where a picture for docs/ is saved: an ignored folder (.screenshots/) in test runs, so a run
 * never changes tracked files; docs/ itself under `npm run docs:screenshots`
 * (FLOE_SCREENSHOT_DIR=docs).
 */
export function screenshotPath(name: string): string {
  return path.resolve(repoRoot, process.env.FLOE_SCREENSHOT_DIR || '.screenshots', name);
}

/** Signs in through the sign-in page and waits for the desktops page. */
export async function signIn(page: Page, name: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: /My desktops?/ })).toBeVisible();
}

/** Counts canvas pixels that are not black: the guest's text console draws light text on black. */
export async function litPixels(page: Page): Promise<number> {
  return page.getByRole('application', { name: 'Desktop screen' }).evaluate((node) => {
    const canvas = node as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i]! + data[i + 1]! + data[i + 2]! > 96) lit++;
    return lit;
  });
}
