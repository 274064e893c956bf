/**
 * The console on a phone (390 × 844, touch): the on-screen keyboard ("Keyboard" focuses the
 * field that brings up the device keyboard; what is typed there runs in the guest) starts the
 * demo guest's floe-pointer-echo, which prints every event of the guest's pointer devices on
 * its serial port; then tap = click, drag = move with the left button held, two-finger tap =
 * right click and two-finger drag = scroll wheel are each proved twice: in the page's SPICE
 * inputs messages on the wire and in the events the guest's kernel reports (evdev).
 * Touches are real ones through the DevTools protocol (Input.dispatchTouchEvent).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CDPSession, Page } from '@playwright/test';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { expect, test } from './auth-fixtures';
import { screenshotPath, signIn } from './fixtures';

const MOUSE_MOTION = 111;
const MOUSE_POSITION = 112;
const MOUSE_PRESS = 113;
const MOUSE_RELEASE = 114;

type InputMessage = { type: number; button?: number; buttons: number };

/** The page's messages on SPICE inputs channels: presses and releases (button), moves (buttons held). */
function recordInputs(page: Page): InputMessage[] {
  const messages: InputMessage[] = [];
  page.on('websocket', (socket) => {
    let frames = 0;
    let inputs = false;
    socket.on('framesent', ({ payload }) => {
      const bytes = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
      frames++;
      if (frames === 1) inputs = bytes.subarray(0, 4).toString('latin1') === 'REDQ' && bytes[20] === 3;
      if (!inputs || frames <= 2 || bytes.length < 6) return;
      const type = bytes.readUInt16LE(0);
      if (type === MOUSE_PRESS || type === MOUSE_RELEASE) messages.push({ type, button: bytes[6], buttons: bytes.readUInt16LE(7) });
      else if (type === MOUSE_MOTION || type === MOUSE_POSITION) messages.push({ type, buttons: bytes.readUInt16LE(14) });
    });
  });
  return messages;
}

const EV_KEY = 1;
const EV_REL = 2;
const EV_ABS = 3;
const BTN_LEFT = 0x110;
const BTN_RIGHT = 0x111;
const REL_WHEEL = 8;

type GuestEvent = { type: number; code: number; value: number };

/** The pointer events floe-pointer-echo printed in this part of the serial log ("PTR eventN <struct input_event in hex>"). */
function guestEvents(serialText: string): GuestEvent[] {
  const events: GuestEvent[] = [];
  for (const match of serialText.matchAll(/^PTR \S+ ([0-9a-f]{48})\r?$/gm)) {
    const bytes = Buffer.from(match[1]!, 'hex');
    events.push({ type: bytes.readUInt16LE(16), code: bytes.readUInt16LE(18), value: bytes.readInt32LE(20) });
  }
  return events;
}

/** The guest's button presses and releases, in order: "left down", "left up", "right down"... */
function guestButtons(events: GuestEvent[]): string[] {
  const names: Record<number, string> = { [BTN_LEFT]: 'left', [BTN_RIGHT]: 'right' };
  return events.filter((e) => e.type === EV_KEY && names[e.code]).map((e) => `${names[e.code]} ${e.value ? 'down' : 'up'}`);
}

async function touch(cdp: CDPSession, type: 'touchStart' | 'touchMove' | 'touchEnd', points: { x: number; y: number }[]) {
  await cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, id) => ({ ...p, id })) });
}

test('touch gestures and the on-screen keyboard reach the desktop', async ({ browser, floe }) => {
  test.setTimeout(300_000);
  const context = await browser.newContext({ baseURL: floe.url, viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const page = await context.newPage();
  const messages = recordInputs(page);
  await signIn(page, 'bob', floe.password);
  await page.getByRole('button', { name: /^(Open desktop|Start again)$/ }).click();
  await expect(page.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', { timeout: 200_000 });
  const screen = page.getByRole('application', { name: 'Desktop screen' });
  const box = (await screen.boundingBox())!;
  expect(box.width, 'the screen fits the phone').toBeLessThanOrEqual(390);
  const at = (fx: number, fy: number) => ({ x: box.x + fx * box.width, y: box.y + fy * box.height });
  const cdp = await context.newCDPSession(page);
  const since = () => {
    const start = messages.length;
    return () => messages.slice(start);
  };
  const buttonsOf = (list: InputMessage[], type: number) => list.filter((m) => m.type === type).map((m) => m.button);

  // The on-screen keyboard: what is typed runs in the guest. It starts the pointer echo.
  const desktopId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  const hypervisor = new QemuHypervisor({ dataDir: path.join(floe.dataDir, 'vms'), accelerator: 'tcg', observeOnly: true });
  const serialLog = hypervisor.serialLogPath(desktopId);
  hypervisor.close();
  // Connected means the desktop is ready (booted, or an instant clone that never prints the boot's ready line).
  await expect.poll(() => fs.existsSync(serialLog), { timeout: 60_000 }).toBe(true);
  const serialSince = () => {
    const start = fs.statSync(serialLog).size;
    return () => fs.readFileSync(serialLog).subarray(start).toString('utf8');
  };
  await page.getByRole('button', { name: 'Keyboard', exact: true }).tap();
  await expect(page.getByRole('textbox', { name: 'Type to the desktop' })).toBeFocused();
  const tag = randomBytes(3).toString('hex');
  let serial = serialSince();
  await page.keyboard.type(`echo touch-${tag} >/dev/ttyS0; floe-pointer-echo`, { delay: 30 });
  await page.keyboard.press('Enter');
  await expect.poll(serial, { timeout: 30_000 }).toContain(`touch-${tag}`);
  await expect.poll(serial, { timeout: 30_000 }).toMatch(/PTR-ECHO-READY event\d/);

  // Tap: a left click.
  let sent = since();
  serial = serialSince();
  await touch(cdp, 'touchStart', [at(0.5, 0.5)]);
  await touch(cdp, 'touchEnd', []);
  await expect.poll(() => buttonsOf(sent(), MOUSE_RELEASE)).toEqual([1]);
  expect(buttonsOf(sent(), MOUSE_PRESS)).toEqual([1]);
  await expect.poll(() => guestButtons(guestEvents(serial())), { timeout: 15_000 }).toEqual(['left down', 'left up']);

  // Drag: press, moves with the left button held, release.
  sent = since();
  serial = serialSince();
  await touch(cdp, 'touchStart', [at(0.2, 0.3)]);
  for (let i = 1; i <= 5; i++) await touch(cdp, 'touchMove', [at(0.2 + i * 0.1, 0.3 + i * 0.05)]);
  await touch(cdp, 'touchEnd', []);
  await expect.poll(() => buttonsOf(sent(), MOUSE_RELEASE)).toEqual([1]);
  const drag = sent();
  const pressIndex = drag.findIndex((m) => m.type === MOUSE_PRESS);
  expect(drag[pressIndex]?.button).toBe(1);
  const heldMoves = drag.slice(pressIndex).filter((m) => (m.type === MOUSE_MOTION || m.type === MOUSE_POSITION) && m.buttons === 1);
  expect(heldMoves.length, 'moves with the left button held').toBeGreaterThanOrEqual(3);
  await expect.poll(() => guestButtons(guestEvents(serial())), { timeout: 15_000 }).toEqual(['left down', 'left up']);
  const guestDrag = guestEvents(serial());
  const down = guestDrag.findIndex((e) => e.type === EV_KEY && e.code === BTN_LEFT && e.value === 1);
  const up = guestDrag.findIndex((e) => e.type === EV_KEY && e.code === BTN_LEFT && e.value === 0);
  const movesHeld = guestDrag.slice(down, up).filter((e) => e.type === EV_ABS || (e.type === EV_REL && e.code !== REL_WHEEL));
  expect(movesHeld.length, 'the guest saw the pointer move while the button was down').toBeGreaterThanOrEqual(3);

  // Two-finger tap: a right click, and no left click before it.
  sent = since();
  serial = serialSince();
  await touch(cdp, 'touchStart', [at(0.4, 0.4)]);
  await touch(cdp, 'touchStart', [at(0.4, 0.4), at(0.5, 0.4)]);
  await touch(cdp, 'touchEnd', []);
  await expect.poll(() => buttonsOf(sent(), MOUSE_RELEASE)).toEqual([3]);
  expect(buttonsOf(sent(), MOUSE_PRESS)).toEqual([3]);
  await expect.poll(() => guestButtons(guestEvents(serial())), { timeout: 15_000 }).toEqual(['right down', 'right up']);

  // Two-finger drag upwards: scroll-wheel notches down (button 5), no clicks.
  sent = since();
  serial = serialSince();
  await touch(cdp, 'touchStart', [at(0.4, 0.7)]);
  await touch(cdp, 'touchStart', [at(0.4, 0.7), at(0.5, 0.7)]);
  for (let i = 1; i <= 6; i++) await touch(cdp, 'touchMove', [at(0.4, 0.7 - i * 0.05), at(0.5, 0.7 - i * 0.05)]);
  await touch(cdp, 'touchEnd', []);
  await expect.poll(() => buttonsOf(sent(), MOUSE_PRESS).length).toBeGreaterThanOrEqual(2);
  expect(new Set(buttonsOf(sent(), MOUSE_PRESS)), 'only wheel-down notches').toEqual(new Set([5]));
  const wheel = () => guestEvents(serial()).filter((e) => e.type === EV_REL && e.code === REL_WHEEL);
  await expect.poll(() => wheel().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
  expect(new Set(wheel().map((e) => e.value)), 'the guest scrolled down only').toEqual(new Set([-1]));
  expect(guestButtons(guestEvents(serial())), 'no clicks in the guest while scrolling').toEqual([]);
  await page.screenshot({ path: screenshotPath('console-phone.png') });
  await cdp.detach();
  await context.close();
});
