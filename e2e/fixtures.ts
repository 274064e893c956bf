/**
 * Playwright fixtures: a real Floe server per worker (production build, port 0, its own data
 * folder, the shared demo guest image, demo accounts with a known password) and helpers to
 * sign in and to read a desktop's serial log. Teardown stops the server and every VM it
 * started, and fails if a QEMU process of this data folder is left.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base, expect } from '@playwright/test';
import { qemuProcessesUnder, repoRoot, startFloe, stopFloe } from '../scripts/floe-process';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';

export { qemuProcessesUnder, startFloe, stopFloe, type StartedFloe } from '../scripts/floe-process';
export { litPixels, signIn } from './page-steps';

export interface FloeServer {
  url: string;
  dataDir: string;
  password: string;
  hypervisor: QemuHypervisor;
  output: () => string;
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

