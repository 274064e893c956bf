/**
 * Floe can be killed at any time. Three people open their desktops; Floe is killed with
 * SIGKILL and started again on the same data folder: the same three desktops (the same QEMU
 * processes) are theirs and their consoles work. Then a desktop's QEMU is killed: within 5 s
 * the person's page says so and offers to start it again, which works; a stateless pool's
 * spare that dies is replaced. And with five consoles open in five pages, Floe is killed with
 * SIGKILL and started again on the same port: every page's console is connected again within
 * 5 s of the new Floe listening, without a reload, on the same QEMU processes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { APIRequestContext, Browser, Page } from '@playwright/test';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import type { VmInfo } from '../server/hypervisor/types';
import { freePort } from '../scripts/floe-process';
import { type StartedFloe, cleanUpDataDir, expect, startFloe, signIn, stopFloe, test, litPixels } from './fixtures';

const PEOPLE = ['alice', 'bob', 'helen'] as const;

interface DesktopJson {
  id: string;
  pool: string;
  stage: string;
}

async function signedInPage(browser: Browser, url: string, name: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  await signIn(page, name, password);
  return page;
}

async function myDesktop(request: APIRequestContext, url: string, pool = 'demo'): Promise<DesktopJson | undefined> {
  const response = await request.get(`${url}/api/desktops`);
  expect(response.status()).toBe(200);
  const body = (await response.json()) as { pools: { name: string; desktop: DesktopJson | null }[] };
  return body.pools.find((p) => p.name === pool)?.desktop ?? undefined;
}

test.describe.configure({ mode: 'serial' });

test('after kill -9 of Floe the same desktops are re-adopted and a dead QEMU is noticed', async ({ browser }) => {
  test.setTimeout(420_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-recovery-'));
  const password = randomBytes(12).toString('base64url');
  // Looks only: the running server owns its VMs' QMP sockets.
  const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg', observeOnly: true });
  let server: StartedFloe | undefined;
  try {
    server = await startFloe(dataDir, password);
    const pages = await Promise.all(PEOPLE.map((name) => signedInPage(browser, server!.url, name, password)));
    const opened = await Promise.all(
      pages.map(async (page) => {
        const response = await page.request.post(`${server!.url}/api/desktops`, { data: { pool: 'demo' } });
        expect(response.status()).toBe(200);
        return ((await response.json()) as { desktop: DesktopJson }).desktop;
      }),
    );
    for (const page of pages) {
      await expect.poll(async () => (await myDesktop(page.request, server!.url))?.stage, { timeout: 180_000 }).toBe('ready');
    }
    const pidsBefore = new Map((await hypervisor.list()).map((vm: VmInfo) => [vm.id, vm.pid]));

    await stopFloe(server, 'SIGKILL');
    server = await startFloe(dataDir, password);
    const url = server.url;
    for (const [i, page] of pages.entries()) {
      const desktop = await myDesktop(page.request, url);
      expect(desktop?.id, `${PEOPLE[i]} has the same desktop`).toBe(opened[i]!.id);
      expect(desktop?.stage).toBe('ready');
      const pidBefore = pidsBefore.get(desktop!.id);
      expect(pidBefore, `${PEOPLE[i]}'s QEMU ran before the kill`).toEqual(expect.any(Number));
      const pidAfter = (await hypervisor.list()).find((vm: VmInfo) => vm.id === desktop!.id)?.pid;
      expect(pidAfter, 'the same QEMU process, not a new boot').toBe(pidBefore);
      await page.goto(`${url}/desktops/${desktop!.id}`);
      await expect(page.getByRole('application', { name: 'Desktop screen' })).toBeVisible({ timeout: 30_000 });
      await expect.poll(() => litPixels(page), { timeout: 30_000 }).toBeGreaterThan(200);
    }
    const personal = (await hypervisor.list()).filter((vm: VmInfo) => /^demo-[0-9a-f]{8}$/.test(vm.id));
    expect(personal.length, 'no second desktop for anyone').toBe(3);

    // A QEMU that dies is noticed and the page says so within 5 s; starting again works.
    const alice = pages[0]!;
    const victim = (await hypervisor.list()).find((vm: VmInfo) => vm.id === opened[0]!.id)!;
    process.kill(victim.pid, 'SIGKILL');
    const killedAt = Date.now();
    await expect(alice.getByRole('heading', { name: 'Your desktop stopped' })).toBeVisible({ timeout: 5_000 });
    console.log(`dead QEMU shown on the page after ${Date.now() - killedAt} ms`);
    await alice.getByRole('link', { name: 'Back to my desktops' }).click();
    await expect(alice.getByRole('listitem', { name: 'Demo desktop' })).toContainText('stopped unexpectedly');
    await alice.getByRole('listitem', { name: 'Demo desktop' }).getByRole('button', { name: 'Start again' }).click();
    await expect(alice).toHaveURL(new RegExp(`/desktops/${opened[0]!.id}$`));
    await expect(alice.getByRole('application', { name: 'Desktop screen' })).toBeVisible({ timeout: 120_000 });

    // The stateless pool's spare dies: it is discarded and replaced by a new spare.
    const spare = await expect
      .poll(async () => (await hypervisor.list()).find((vm: VmInfo) => vm.id.startsWith('demo-fresh-'))?.id, { timeout: 60_000 })
      .toBeTruthy()
      .then(async () => (await hypervisor.list()).find((vm: VmInfo) => vm.id.startsWith('demo-fresh-'))!);
    process.kill(spare.pid, 'SIGKILL');
    await expect
      .poll(async () => (await hypervisor.list()).some((vm: VmInfo) => vm.id.startsWith('demo-fresh-') && vm.id !== spare.id), {
        timeout: 60_000,
      })
      .toBe(true);
    for (const page of pages) await page.context().close();
  } finally {
    if (server) {
      await stopFloe(server);
      await test.info().attach('floe-output', { body: server.output(), contentType: 'text/plain' });
    }
    hypervisor.close();
    await cleanUpDataDir(dataDir);
  }
});

test('after kill -9 of Floe five live consoles come back within 5 s, without a reload', async ({ browser }) => {
  test.setTimeout(720_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-recovery-live-'));
  const password = randomBytes(12).toString('base64url');
  const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg', observeOnly: true });
  const env = { PORT: String(await freePort()) };
  // Five consoles: the four demo people on the persistent pool, and alice on the stateless one too.
  const consoles = [
    { name: 'alice', pool: 'demo' },
    { name: 'bob', pool: 'demo' },
    { name: 'helen', pool: 'demo' },
    { name: 'admin', pool: 'demo' },
    { name: 'alice', pool: 'demo-fresh' },
  ] as const;
  let server: StartedFloe | undefined;
  try {
    server = await startFloe(dataDir, password, { env });
    const url = server.url;
    const pages: Page[] = [];
    const ids: string[] = [];
    for (const { name, pool } of consoles) {
      const page = await signedInPage(browser, url, name, password);
      const response = await page.request.post(`${url}/api/desktops`, { data: { pool } });
      expect(response.status(), `${name} gets a ${pool} desktop`).toBe(200);
      ids.push(((await response.json()) as { desktop: DesktopJson }).desktop.id);
      pages.push(page);
    }
    expect(new Set(ids).size, 'five different desktops').toBe(5);
    for (const [i, page] of pages.entries()) {
      await page.goto(`${url}/desktops/${ids[i]}`);
      await expect(page.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', { timeout: 180_000 });
      await expect.poll(() => litPixels(page), { timeout: 30_000 }).toBeGreaterThan(200);
      await page.evaluate(() => {
        (window as unknown as { floeSamePage: boolean }).floeSamePage = true;
      });
    }
    const pidsBefore = new Map((await hypervisor.list()).map((vm: VmInfo) => [vm.id, vm.pid]));
    for (const id of ids) expect(pidsBefore.get(id), `${id} runs before the kill`).toEqual(expect.any(Number));

    await stopFloe(server, 'SIGKILL');
    // Every page notices that its console is gone before Floe is back.
    for (const page of pages) {
      await expect(page.getByRole('status', { name: 'Console connection' })).not.toHaveText('Connected', { timeout: 15_000 });
    }
    server = await startFloe(dataDir, password, { env });
    const listening = Date.now();
    expect(server.url, 'the same address as before').toBe(url);
    const backAfter: number[] = [];
    for (const page of pages) {
      await expect(page.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', {
        timeout: Math.max(0, 5_000 - (Date.now() - listening)),
      });
      backAfter.push(Date.now() - listening);
    }
    console.log(`consoles connected again ${backAfter.join(', ')} ms after the new Floe listened`);
    for (const [i, page] of pages.entries()) {
      expect(await page.evaluate(() => (window as unknown as { floeSamePage?: boolean }).floeSamePage), 'no reload').toBe(true);
      await expect.poll(() => litPixels(page), { timeout: 30_000 }).toBeGreaterThan(200);
      const desktop = await myDesktop(page.request, url, consoles[i]!.pool);
      expect(desktop?.id, `${consoles[i]!.name} keeps the same ${consoles[i]!.pool} desktop`).toBe(ids[i]);
    }
    const pidsAfter = new Map((await hypervisor.list()).map((vm: VmInfo) => [vm.id, vm.pid]));
    for (const id of ids) expect(pidsAfter.get(id), `${id}: the same QEMU, not a new boot`).toBe(pidsBefore.get(id));
    const personal = [...pidsAfter.keys()].filter((id) => /^demo-[0-9a-f]{8}$/.test(id));
    expect(personal.length, 'nothing duplicated: one persistent desktop per person').toBe(4);
    for (const page of pages) await page.context().close();
  } finally {
    if (server) {
      await stopFloe(server);
      await test.info().attach('floe-output', { body: server.output(), contentType: 'text/plain' });
    }
    hypervisor.close();
    await cleanUpDataDir(dataDir);
  }
});
