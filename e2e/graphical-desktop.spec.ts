/**
 * The graphical desktop template (guest/build-desktop.sh: Debian 12, Xfce, spice-vdagent,
 * PulseAudio) in the browser, against real QEMU. Floe runs with the demo's Desktop pool (nat
 * network, instant clones): the template VM boots once (1-2 minutes under TCG) and is saved once
 * its screen holds still; every desktop here is a clone of it, on screen in about a second.
 *
 * Skipped when the template is not built (`bash guest/build-desktop.sh`, or `npm run
 * test:desktop`, which builds it first). What reaches the guest is proved by the guest writing to
 * its serial port (the desktop user may write to /dev/ttyS0), read from the desktop's serial log,
 * or by commands run in the guest through its qemu-guest-agent (guest-exec).
 *
 * The network test gives the guest an address outside this host: a network namespace behind a
 * veth pair (made here, removed after) with an HTTP server in it. The guest reaches it, and
 * cannot reach Floe's port nor the SPICE port of another desktop (a busybox VM started here).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, type Page, test } from '@playwright/test';
import { desktopDemoPool, templateOf } from '../server/broker/pools';
import { versionLabel } from '../server/broker/template-versions';
import { demoTemplate } from '../server/hypervisor/qemu/demo-template';
import { desktopImageBuilt } from '../server/hypervisor/qemu/desktop-template';
import { guestExec } from '../server/hypervisor/qemu/guest-agent';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { snapshotFiles, snapshotKey } from '../server/hypervisor/qemu/template-snapshot';
import { makeOutsideNetwork } from '../test/outside-network';
// Not the fixtures' `test`: its worker fixture would start a second Floe with the busybox pools.
import { type StartedFloe, cleanUpDataDir, expect, screenshotPath, signIn, startFloe, stopFloe } from './fixtures';

const imageDir = process.env.FLOE_IMAGE_DIR ?? path.resolve('.data', 'images');
/** The demo's Desktop pool: stateless, 2 GiB, 2 vCPUs, nat network, instant clones. */
const pool = desktopDemoPool;

/** Where Xfce's Applications menu button is, and its "Terminal Emulator" entry, in guest pixels (top left, any screen size). */
const MENU_BUTTON = { x: 14, y: 12 };
const TERMINAL_ENTRY = { x: 80, y: 68 };

/** Clicks the guest's screen at guest pixel (x, y), whatever the canvas's scale on the page. */
async function clickGuest(page: Page, at: { x: number; y: number }): Promise<void> {
  const canvas = page.getByRole('application', { name: 'Desktop screen' });
  const width = await canvas.evaluate((node) => (node as HTMLCanvasElement).width);
  const box = (await canvas.boundingBox())!;
  const scale = box.width / width;
  await canvas.click({ position: { x: at.x * scale, y: at.y * scale } });
}

/** Mean brightness of a rectangle of the canvas, in guest pixels. */
async function areaBrightness(page: Page, x: number, y: number, w: number, h: number): Promise<number> {
  return page.getByRole('application', { name: 'Desktop screen' }).evaluate(
    (node, r) => {
      const data = (node as HTMLCanvasElement).getContext('2d')!.getImageData(r.x, r.y, r.w, r.h).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum += data[i]! + data[i + 1]! + data[i + 2]!;
      return sum / (data.length / 4) / 3;
    },
    { x, y, w, h },
  );
}

/** The canvas's size as "W x H" (the guest's screen). */
const canvasSize = (page: Page) => screenBrightness(page).then((b) => `${b.width} x ${b.height}`);

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
const SHIFTED: Record<string, string> = {
  '>': 'Shift+Period',
  '|': 'Shift+Backslash',
  _: 'Shift+Minus',
  '*': 'Shift+Digit8',
  '&': 'Shift+Digit7',
  ':': 'Shift+Semicolon',
};

/** Types text: capitals and the shifted symbols above with Shift, the rest as it is. */
async function typeInGuest(page: Page, text: string): Promise<void> {
  for (const ch of text) {
    if (SHIFTED[ch]) await page.keyboard.press(SHIFTED[ch]!, { delay: 20 });
    else if (/^[A-Z]$/.test(ch)) await page.keyboard.press(`Shift+Key${ch}`, { delay: 20 });
    else await page.keyboard.press(ch === ' ' ? 'Space' : ch, { delay: 20 });
    // QEMU's PS/2 keyboard holds 16 bytes: a guest busy for a moment loses keys sent in a burst.
    await page.waitForTimeout(30);
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
    // The template VM boots once (cold, 1-2 minutes under TCG) and is saved; the tests take clones.
    const key = await snapshotKey(templateOf(pool, imageDir), 'tcg', versionLabel(1));
    const meta = snapshotFiles(path.join(imageDir, 'snapshots'), key).metaFile;
    const saved = () => (fs.existsSync(meta) ? 'stateFile' in (JSON.parse(fs.readFileSync(meta, 'utf8')) as object) : false);
    const t0 = Date.now();
    await expect.poll(saved, { timeout: 400_000, intervals: [1000], message: 'the desktop template snapshot is saved' }).toBe(true);
    console.log(`graphical desktop: template snapshot ready ${Date.now() - t0} ms after Floe started (0 when it was already there)`);
  });

  test.afterAll(async () => {
    if (server) await stopFloe(server);
    hypervisor?.close();
    if (dataDir) await cleanUpDataDir(dataDir);
  });

  let context: BrowserContext;
  let page: Page;
  let serialLog: string;
  let agentSocket: string;

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
    // Below the panel, the desktop's background is drawn too (not black).
    await expect.poll(() => screenBrightness(page).then((b) => b.screen), { timeout: 30_000 }).toBeGreaterThan(20);
    const desktopId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    serialLog = hypervisor.serialLogPath(desktopId);
    agentSocket = hypervisor.agentSocketPath(desktopId);
    expect((await hypervisor.list()).find((vm) => vm.id === desktopId)?.restoredFrom, 'the desktop is an instant clone').toBeTruthy();

    // The screen follows the window at connect (the agent's monitor config): wait until its size holds.
    let size = '';
    await expect
      .poll(async () => {
        const now = await canvasSize(page);
        const same = now === size;
        size = now;
        return same;
      }, { timeout: 60_000, intervals: [3000] })
      .toBe(true);

    // The panel's first button is the Applications menu (a light list opens below it); its
    // "Terminal Emulator" entry opens xfce4-terminal with the keyboard focus.
    const menuArea = () => areaBrightness(page, 5, 55, 140, 25);
    const closedMenu = await menuArea();
    await clickGuest(page, MENU_BUTTON);
    await expect.poll(menuArea, { timeout: 30_000, message: 'the Applications menu opens' }).toBeGreaterThan(closedMenu + 80);
    await clickGuest(page, TERMINAL_ENTRY);
    const marker = `floe-typed-${Date.now() % 100000}`;
    await expect(async () => {
      await runInGuest(page, serialLog, `echo ${marker} > /dev/ttyS0`, marker);
    }).toPass({ timeout: 120_000, intervals: [2000] });
    await page.screenshot({ path: screenshotPath('desktop-xfce-browser.png') });
  });

  test('the guest screen follows the window (agent monitor config): xrandr reports the new size', async () => {
    await page.setViewportSize({ width: 1000, height: 700 });
    const stage = await page.locator('.console-stage').evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight }));
    const want = `${Math.floor(stage.w / 8) * 8} x ${Math.floor(stage.h / 8) * 8}`;
    await expect(async () => {
      const line = await runInGuest(page, serialLog, 'xrandr -q | grep -o current.[0-9]*.x.[0-9]* > /dev/ttyS0', /current \d+ x \d+/);
      expect(line).toBe(`current ${want}`);
    }).toPass({ timeout: 60_000, intervals: [2000] });
    await expect.poll(() => canvasSize(page), { timeout: 15_000 }).toBe(want);
  });

  test('sound: a tone played in the guest reaches the page as non-silent samples; the Sound button mutes it', async () => {
    const sound = page.getByRole('button', { name: 'Sound' });
    await expect(sound).toHaveAttribute('aria-pressed', 'false');
    await sound.click();
    await expect(sound).toHaveAttribute('aria-pressed', 'true');
    // The button took the keyboard focus: a click into the terminal gives it back to the screen.
    await clickGuest(page, { x: 400, y: 300 });
    // A 440 Hz tone for 20 s from the desktop user's PulseAudio (its sink is the HDA card, whose
    // output goes to SPICE's playback channel).
    const play = 'sox -n -r 44100 -c 2 /tmp/tone.wav synth 20 sine 440 vol 0.5 && paplay /tmp/tone.wav &';
    await runInGuest(page, serialLog, `${play} echo tone-started > /dev/ttyS0`, 'tone-started');
    // The page's audio element (spice-html5 adds it on the playback channel's start), captured
    // into Web Audio: the loudest sample seen over 1 s.
    const peak = async () =>
      page.evaluate(async () => {
        const audio = document.querySelector('.console-screen audio') as (HTMLAudioElement & { captureStream?: () => MediaStream }) | null;
        if (!audio?.captureStream) return -1;
        const stream = audio.captureStream();
        if (stream.getAudioTracks().length === 0) return -2;
        const context = new AudioContext();
        await context.resume();
        const analyser = context.createAnalyser();
        context.createMediaStreamSource(stream).connect(analyser);
        const samples = new Float32Array(analyser.fftSize);
        let loudest = 0;
        for (let i = 0; i < 20; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          analyser.getFloatTimeDomainData(samples);
          for (const s of samples) loudest = Math.max(loudest, Math.abs(s));
        }
        await context.close();
        return loudest;
      });
    await expect.poll(peak, { timeout: 30_000, intervals: [500], message: 'non-silent samples in the page' }).toBeGreaterThan(0.05);
    const audio = page.locator('.console-screen audio');
    expect(await audio.evaluate((el: HTMLAudioElement) => ({ muted: el.muted, paused: el.paused }))).toEqual({ muted: false, paused: false });
    await sound.click();
    await expect(sound).toHaveAttribute('aria-pressed', 'false');
    expect(await audio.evaluate((el: HTMLAudioElement) => el.muted)).toBe(true);
  });

  test('network (nat): the guest reaches an address outside the host, not Floe nor another desktop', async () => {
    const outside = await makeOutsideNetwork('gd', 214);
    // Another desktop: a busybox VM of its own, whose SPICE port listens on this host's loopback.
    const other = new QemuHypervisor({ dataDir: path.join(dataDir, 'other-vms'), accelerator: 'tcg' });
    try {
      const otherVm = await other.start({ id: 'other-desktop', template: demoTemplate(imageDir) });
      const floePort = Number(new URL(server!.url).port);
      const run = (command: string) => guestExec(agentSocket, '/bin/sh', ['-c', command], { timeoutMs: 30_000 });
      // The guest's own view: its NIC got an address from the user network.
      expect((await run('ip -4 -o addr show')).stdout).toMatch(/inet 10\.0\.2\.\d+/);
      // Outside: answers (as a control, nc -z tells a refused connection from an open one).
      expect((await run(`curl -s -m 10 http://${outside.address}:${outside.port}/`)).stdout).toBe(outside.answer);
      expect((await run(`nc -z -w 5 ${outside.address} ${outside.port}`)).exitCode).toBe(0);
      // The host's loopback through the user network's host alias: Floe's port, the other SPICE port.
      expect((await run(`nc -z -w 5 10.0.2.2 ${floePort}`)).exitCode, "Floe's port").not.toBe(0);
      expect((await run(`nc -z -w 5 10.0.2.2 ${otherVm.spicePort}`)).exitCode, "another desktop's SPICE port").not.toBe(0);
      expect((await run(`curl -s -m 5 -o /dev/null -w %{http_code} http://10.0.2.2:${floePort}/`)).stdout).toBe('000');
    } finally {
      await other.stopAll().catch(() => undefined);
      for (const vm of await other.list().catch(() => [])) await other.destroy(vm.id).catch(() => undefined);
      other.close();
      outside.close();
    }
  });

  test('clipboard: text copied in the page is pasted in the guest; text copied in the guest reaches the page', async () => {
    const toGuest = `from-page-${Date.now() % 100000}`;
    await page.evaluate((text) => navigator.clipboard.writeText(text), toGuest);
    await clickGuest(page, { x: 400, y: 300 }); // the keyboard back to the screen (the Sound button had it)
    // Ctrl+Shift+V is the terminal's paste: the page offers its clipboard to the agent first and
    // sends the shortcut a moment later, so the line is finished only once the text is in the
    // guest's clipboard (read there with xclip through the guest agent).
    await typeInGuest(page, '> /dev/ttyS0 echo ');
    await page.keyboard.press('Control+Shift+V');
    const guestClipboard = async () =>
      (await guestExec(agentSocket, '/bin/sh', ['-c', 'su floe -c "DISPLAY=:0 xclip -o -selection clipboard"'])).stdout;
    await expect.poll(guestClipboard, { timeout: 30_000, message: "the page's text in the guest's clipboard" }).toBe(toGuest);
    await runInGuest(page, serialLog, '', toGuest);

    const toPage = `from-guest-${Date.now() % 100000}`;
    await page.evaluate(() => navigator.clipboard.writeText(''));
    await typeInGuest(page, `echo -n ${toPage} | xclip -selection clipboard`);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 30_000 }).toBe(toPage);
    await context.close();
  });
});
