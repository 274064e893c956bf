/**
 * The graphical desktop template (guest/build-desktop.sh: Debian 12, Xfce, spice-vdagent) in
 * the browser, against real QEMU. Floe runs with one instant pool of that template: the
 * template VM boots once (about 45 s under TCG) and is saved; every test's desktop is a clone
 * of it, on screen in about a second.
 *
 * PENDING, not part of `npm test`: it lives outside e2e/ because it is not green yet (the clones
 * of the template snapshot stay black in the browser: the snapshot is saved before the desktop
 * is painted; see the note on issue 10). Run it by hand after `bash guest/build-desktop.sh`:
 * `FLOE_E2E_DIR=e2e-pending npx playwright test`. Move it back to e2e/ once it passes.
 *
 * What reaches the guest is proved by the guest writing to its serial port (the desktop user
 * may write to /dev/ttyS0), read from the desktop's serial log.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { desktopDemoPool, templateOf } from '../server/broker/pools';
import { versionLabel } from '../server/broker/template-versions';
import { desktopImageBuilt } from '../server/hypervisor/qemu/desktop-template';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { snapshotFiles, snapshotKey } from '../server/hypervisor/qemu/template-snapshot';
import { type StartedFloe, cleanUpDataDir, expect, signIn, startFloe, stopFloe, test } from '../e2e/fixtures';

const imageDir = process.env.FLOE_IMAGE_DIR ?? path.resolve('.data', 'images');
/** The demo's Desktop pool: stateless, 2 GiB, 2 vCPUs, instant clones. */
const pool = desktopDemoPool;

/** Where Xfce's Applications menu button is, and its first entry, in guest pixels (1024x768 screen). */
const MENU_BUTTON = { x: 14, y: 12 };
const RUN_PROGRAM_ENTRY = { x: 60, y: 40 };

const serialText = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

/** Mean brightness of the top 24 rows of the canvas (Xfce's panel) and of the whole canvas. */
async function screenBrightness(page: Page): Promise<{ panel: number; screen: number; width: number; height: number }> {
  return page.getByRole('application', { name: 'Desktop screen' }).evaluate((node) => {
    const canvas = node as HTMLCanvasElement;
    const mean = (rows: number) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, rows).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum += data[i]! + data[i + 1]! + data[i + 2]!;
      return sum / (data.length / 4) / 3;
    };
    return { panel: mean(24), screen: mean(canvas.height), width: canvas.width, height: canvas.height };
  });
}

/** Keys that need Shift on a US keyboard, pressed with it (Playwright's type() does not press Shift). */
const SHIFTED: Record<string, string> = { '>': 'Shift+Period', '|': 'Shift+Backslash', _: 'Shift+Minus' };

/** Types lowercase text, digits and unshifted symbols, plus the shifted ones above. */
async function typeInGuest(page: Page, text: string): Promise<void> {
  for (const ch of text) {
    if (SHIFTED[ch]) await page.keyboard.press(SHIFTED[ch]!);
    else await page.keyboard.type(ch);
  }
}

/** Runs a shell command in the guest's focused terminal and waits for `expected` in the serial log. */
async function runInGuest(page: Page, serialLog: string, command: string, expected: string | RegExp): Promise<string> {
  const before = serialText(serialLog).length;
  await typeInGuest(page, command);
  await page.keyboard.press('Enter');
  let found = '';
  await expect
    .poll(
      () => {
        const fresh = serialText(serialLog).slice(before);
        const match = typeof expected === 'string' ? (fresh.includes(expected) ? expected : null) : (expected.exec(fresh)?.[0] ?? null);
        found = match ?? '';
        return match !== null;
      },
      { timeout: 30_000, message: `the guest ran "${command}"` },
    )
    .toBe(true);
  return found;
}

test.describe.serial('the graphical desktop', () => {
  test.skip(!desktopImageBuilt(imageDir), `no desktop template in ${imageDir}/desktop: run bash guest/build-desktop.sh`);
  test.setTimeout(600_000);
  let dataDir: string;
  let password: string;
  let server: StartedFloe | undefined;
  let hypervisor: QemuHypervisor;

  test.beforeAll(async () => {
    test.setTimeout(600_000);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-graphical-'));
    password = randomBytes(12).toString('base64url');
    const poolsFile = path.join(dataDir, 'pools.json');
    fs.writeFileSync(poolsFile, JSON.stringify({ pools: [pool] }));
    hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg', observeOnly: true });
    server = await startFloe(dataDir, password, { env: { FLOE_ACCEL: 'tcg', FLOE_POOLS_FILE: poolsFile } });
    // The template VM boots once (cold, ~45 s under TCG) and is saved; the tests take clones.
    const key = await snapshotKey(templateOf(pool, imageDir), 'tcg', versionLabel(1));
    const meta = snapshotFiles(path.join(imageDir, 'snapshots'), key).metaFile;
    const saved = () => (fs.existsSync(meta) ? 'stateFile' in (JSON.parse(fs.readFileSync(meta, 'utf8')) as object) : false);
    await expect.poll(saved, { timeout: 400_000, intervals: [1000], message: 'the desktop template snapshot is saved' }).toBe(true);
  });

  test.afterAll(async () => {
    if (server) await stopFloe(server);
    hypervisor?.close();
    if (dataDir) await cleanUpDataDir(dataDir);
  });

  let context: BrowserContext;
  let page: Page;
  let serialLog: string;

  test('the desktop appears with its panel, a click on the menu opens a terminal, typed text runs there', async ({ browser }) => {
    context = await browser.newContext({ baseURL: server!.url });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    page = await context.newPage();
    await signIn(page, 'alice', password);
    const clickedAt = Date.now();
    await page.getByRole('listitem', { name: 'Desktop' }).getByRole('button', { name: 'Open desktop' }).click();
    // Xfce's panel is a light bar across the top of the screen.
    await expect.poll(async () => (await screenBrightness(page).catch(() => undefined))?.panel ?? 0, { timeout: 60_000, intervals: [100] }).toBeGreaterThan(60);
    const firstFrameMs = Date.now() - clickedAt;
    console.log(`graphical desktop: "Open desktop" → panel on the canvas in ${firstFrameMs} ms`);
    test.info().annotations.push({ type: 'first-frame-ms', description: String(firstFrameMs) });
    const desktopId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    serialLog = hypervisor.serialLogPath(desktopId);
    expect((await hypervisor.list()).find((vm) => vm.id === desktopId)?.restoredFrom, 'the desktop is an instant clone').toBeTruthy();

    // The panel's first button is the Applications menu; its first entry, "Run Program...", asks
    // for a command: xfce4-terminal opens with the keyboard focus.
    const canvas = page.getByRole('application', { name: 'Desktop screen' });
    await canvas.click({ position: MENU_BUTTON });
    await canvas.click({ position: RUN_PROGRAM_ENTRY });
    await expect.poll(() => screenBrightness(page).then((b) => b.screen), { timeout: 20_000 }).not.toBe(0);
    await typeInGuest(page, 'xfce4-terminal');
    await page.keyboard.press('Enter');
    const marker = `floe-typed-${Date.now() % 100000}`;
    await expect(async () => {
      await runInGuest(page, serialLog, `echo ${marker} > /dev/ttyS0`, marker);
    }).toPass({ timeout: 120_000, intervals: [2000] });
  });

  test('the guest screen follows the window (agent monitor config): xrandr reports the new size', async () => {
    await page.setViewportSize({ width: 1000, height: 700 });
    const stage = await page.locator('.console-stage').evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight }));
    const want = `${Math.floor(stage.w / 8) * 8} x ${Math.floor(stage.h / 8) * 8}`;
    await expect(async () => {
      const line = await runInGuest(page, serialLog, 'xrandr -q | grep -o current.[0-9]*.x.[0-9]* > /dev/ttyS0', /current \d+ x \d+/);
      expect(line).toBe(`current ${want}`);
    }).toPass({ timeout: 60_000, intervals: [2000] });
  });

  test('clipboard: text copied in the page is pasted in the guest; text copied in the guest reaches the page', async () => {
    const toGuest = `from-page-${Date.now() % 100000}`;
    await page.evaluate((text) => navigator.clipboard.writeText(text), toGuest);
    // Ctrl+Shift+V is the terminal's paste: the page offers its clipboard to the agent first.
    await typeInGuest(page, 'echo ');
    await page.keyboard.press('Control+Shift+V');
    await runInGuest(page, serialLog, ' > /dev/ttyS0', toGuest);
    await runInGuest(page, serialLog, 'xclip -o -selection clipboard > /dev/ttyS0', toGuest);

    const toPage = `from-guest-${Date.now() % 100000}`;
    await page.evaluate(() => navigator.clipboard.writeText(''));
    await typeInGuest(page, `echo -n ${toPage} | xclip -selection clipboard`);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 30_000 }).toBe(toPage);
    await context.close();
  });
});
