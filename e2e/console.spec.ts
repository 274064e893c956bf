/**
 * The console, for real, on one desktop booted once (the tests run in order on one page): keys
 * by physical position (shifted characters, arrows, a German keyboard layout), clicks landing
 * where clicked on a scaled and on a real-size screen (read from the inputs channel's frames
 * on the wire), Send text, Ctrl+Alt+Del rebooting the guest, full screen, Disconnect, the
 * console coming back by itself when the SPICE connection is cut, the Power menu's
 * confirmation and reset, a second tab (and a second browser) asking, then taking the console
 * over, and a plain message once the sign-in has ended. What reaches the guest is proved by the guest writing to its serial log.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { BrowserContext, Page } from '@playwright/test';
import type { VmInfo } from '../server/hypervisor/types';
import { expect, signIn, test, litPixels } from './fixtures';

const READY_MARKER = 'FLOE-GUEST-READY';

/**
 * Milliseconds between key events the tests send, about a fast typist's pace. The guest's PS/2
 * keyboard buffer holds 16 bytes and QEMU drops what does not fit, so keys sent in a burst are
 * lost whenever the guest stalls for a moment (TCG on a busy machine).
 */
const KEY_PACE_MS = 20;

const serialText = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
const bootsIn = (file: string) => serialText(file).split(READY_MARKER).length - 1;

async function waitForSerial(file: string, text: string): Promise<void> {
  await expect.poll(() => serialText(file), { timeout: 30_000, message: `the guest writes ${JSON.stringify(text)}` }).toContain(text);
}

/** US-layout keys for the characters the tests type: [KeyboardEvent.code, with Shift]. */
function usKey(char: string): [string, boolean] {
  if (/^[a-z]$/.test(char)) return [`Key${char.toUpperCase()}`, false];
  if (/^[A-Z]$/.test(char)) return [`Key${char}`, true];
  if (/^[0-9]$/.test(char)) return [`Digit${char}`, false];
  const keys: Record<string, [string, boolean]> = {
    ' ': ['Space', false],
    '-': ['Minus', false],
    '.': ['Period', false],
    '/': ['Slash', false],
    '>': ['Period', true],
    '_': ['Minus', true],
    ':': ['Semicolon', true],
    '{': ['BracketLeft', true],
    '}': ['BracketRight', true],
    '|': ['Backslash', true],
    '"': ['Quote', true],
  };
  const key = keys[char];
  if (!key) throw new Error(`no US key for ${JSON.stringify(char)} in this test`);
  return key;
}

/** Presses and releases a key at a typist's pace. */
async function press(page: Page, code: string): Promise<void> {
  await page.keyboard.press(code, { delay: KEY_PACE_MS });
  await page.waitForTimeout(KEY_PACE_MS);
}

/** Types `text` key by key, holding the Shift key (a key of its own) for shifted characters. */
async function typeWithShift(page: Page, text: string): Promise<void> {
  let shift = false;
  for (const char of text) {
    const [code, shifted] = usKey(char);
    if (shifted !== shift) {
      if (shifted) await page.keyboard.down('Shift');
      else await page.keyboard.up('Shift');
      shift = shifted;
    }
    await press(page, code);
  }
  if (shift) await page.keyboard.up('Shift');
}

/**
 * What a German (QWERTZ) keyboard layout reports for a physical key: the character (`key`) and
 * Windows virtual key code (`keyCode`) differ from a US layout, the physical `code` does not.
 */
function germanKey(code: string, shift: boolean): { key: string; keyCode: number } {
  const letter = /^Key([A-Z])$/.exec(code)?.[1];
  if (letter) {
    const swapped = letter === 'Y' ? 'Z' : letter === 'Z' ? 'Y' : letter;
    return { key: shift ? swapped : swapped.toLowerCase(), keyCode: swapped.charCodeAt(0) };
  }
  const digit = /^Digit([0-9])$/.exec(code)?.[1];
  if (digit && !shift) return { key: digit, keyCode: digit.charCodeAt(0) };
  const keys: Record<string, { key: string; keyCode: number }> = {
    Space: { key: ' ', keyCode: 32 },
    Minus: { key: 'ß', keyCode: 219 },
    Slash: { key: '-', keyCode: 189 },
    Period: shift ? { key: ':', keyCode: 190 } : { key: '.', keyCode: 190 },
    Enter: { key: 'Enter', keyCode: 13 },
  };
  const key = keys[code];
  if (!key) throw new Error(`no German key for ${code}${shift ? ' with Shift' : ''} in this test`);
  return key;
}

/**
 * Types `text` as a person with a German keyboard layout does to get these characters on a
 * US-layout guest: by the US positions, while the browser reports German characters and key
 * codes. Real (trusted) key events through the DevTools protocol.
 */
async function typeOnGermanLayout(page: Page, context: BrowserContext, text: string): Promise<void> {
  const cdp = await context.newCDPSession(page);
  const send = async (type: 'rawKeyDown' | 'keyDown' | 'keyUp', code: string, key: string, keyCode: number, shift: boolean, text?: string) => {
    await cdp.send('Input.dispatchKeyEvent', {
      type,
      code,
      key,
      windowsVirtualKeyCode: keyCode,
      nativeVirtualKeyCode: keyCode,
      modifiers: shift ? 8 : 0,
      ...(text ? { text, unmodifiedText: text } : {}),
    });
    await page.waitForTimeout(KEY_PACE_MS);
  };
  for (const char of [...text, '\n']) {
    const [code, shift] = char === '\n' ? ['Enter', false] : usKey(char);
    const { key, keyCode } = germanKey(code, shift);
    if (shift) await send('rawKeyDown', 'ShiftLeft', 'Shift', 16, true);
    await send('keyDown', code, key, keyCode, shift, key.length === 1 ? key : code === 'Enter' ? '\r' : undefined);
    await send('keyUp', code, key, keyCode, shift);
    if (shift) await send('keyUp', 'ShiftLeft', 'Shift', 16, false);
  }
  await cdp.detach();
}

/** Open TCP connections to the desktop's SPICE port (only Floe's relay connects to it in this spec). */
function relayConnections(vm: VmInfo): number {
  const lines = execFileSync('ss', ['-Htn', 'state', 'established', 'dst', vm.spiceHost, 'dport', '=', String(vm.spicePort)], { encoding: 'utf8' });
  return lines.split('\n').filter((line) => line.trim()).length;
}

const MOUSE_MOTION = 111;
const MOUSE_POSITION = 112;
const MOUSE_PRESS = 113;

/**
 * Where the pointer was, by the page's own messages on SPICE inputs channels, at each button
 * press. In client mouse mode spice-html5 sends positions (112); in server mode (the demo guest
 * has no USB tablet driver and no agent) it sends motions (111): the first one of a connection
 * holds the position, later ones the change since the previous one.
 */
function recordPresses(page: Page): Array<{ x: number; y: number }> {
  const presses: Array<{ x: number; y: number }> = [];
  page.on('websocket', (socket) => {
    let frames = 0;
    let inputs = false;
    let pointer: { x: number; y: number } | undefined;
    socket.on('framesent', ({ payload }) => {
      const bytes = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
      frames++;
      // Frame 1: the link message ("REDQ", ..., byte 20 = channel type; 3 is inputs). Frame 2: the ticket.
      if (frames === 1) inputs = bytes.subarray(0, 4).toString('latin1') === 'REDQ' && bytes[20] === 3;
      if (!inputs || frames <= 2) return;
      // Then mini messages: type (u16), size (u32), body.
      const type = bytes.readUInt16LE(0);
      const x = bytes.length >= 14 ? bytes.readInt32LE(6) : 0;
      const y = bytes.length >= 14 ? bytes.readInt32LE(10) : 0;
      if (type === MOUSE_POSITION || (type === MOUSE_MOTION && !pointer)) pointer = { x, y };
      else if (type === MOUSE_MOTION && pointer) pointer = { x: pointer.x + x, y: pointer.y + y };
      else if (type === MOUSE_PRESS && pointer) presses.push({ ...pointer });
    });
  });
  return presses;
}

test.describe.serial('the console', () => {
  let context: BrowserContext;
  let page: Page;
  let desktopId: string;
  let serialLog: string;
  let vm: VmInfo;
  let presses: Array<{ x: number; y: number }>;
  const screen = () => page.getByRole('application', { name: 'Desktop screen' });
  const connectionStatus = () => page.getByRole('status', { name: 'Console connection' });
  const tool = (name: string) => page.getByRole('group', { name: 'Console controls' }).getByRole('button', { name, exact: true });

  /** Runs a shell command on the guest, typed on a US layout, and waits for what it writes. */
  async function runOnGuest(command: string, expected: string): Promise<void> {
    await screen().click();
    await typeWithShift(page, command);
    await press(page, 'Enter');
    await waitForSerial(serialLog, expected);
  }

  test.beforeAll(async ({ browser, floe }) => {
    context = await browser.newContext({ baseURL: floe.url, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    presses = recordPresses(page);
  });

  test.afterAll(async () => {
    await context?.close();
  });

  test('alice opens her desktop and sees its screen', async ({ floe }) => {
    await signIn(page, 'alice', floe.password);
    // Other specs on this server may have left her desktop running (then opening it boots
    // nothing) or not (then it boots once: a QEMU start begins a new serial log).
    const listing = (await (await page.request.get('/api/desktops')).json()) as { pools: { name: string; desktop: { id: string; stage: string } | null }[] };
    const left = listing.pools.find((p) => p.name === 'demo')?.desktop;
    const bootsBefore = left?.stage === 'ready' ? bootsIn(floe.hypervisor.serialLogPath(left.id)) : 0;
    await page.getByRole('listitem', { name: 'Demo desktop' }).getByRole('button', { name: /^(Open desktop|Start again)$/ }).click();
    await expect(screen()).toBeVisible({ timeout: 180_000 });
    await expect.poll(() => litPixels(page), { timeout: 60_000 }).toBeGreaterThan(200);
    await expect(connectionStatus()).toHaveText('Connected');
    desktopId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    serialLog = floe.hypervisor.serialLogPath(desktopId);
    vm = (await floe.hypervisor.list()).find((v) => v.id === desktopId)!;
    expect(vm, 'the desktop runs as a QEMU process').toBeDefined();
    // Left running: as many ready lines as before. Started now: one, or none for an instant
    // clone (it never booted).
    const expectedBoots = left?.stage === 'ready' ? bootsBefore : vm.restoredFrom ? 0 : 1;
    await expect.poll(() => bootsIn(serialLog), { timeout: 60_000 }).toBe(expectedBoots);
  });

  test('shifted characters and arrow keys reach the guest by physical key', async () => {
    const tag = randomBytes(3).toString('hex').toUpperCase();
    await runOnGuest(`echo "SHIFT_${tag}:{ok}|" >/dev/ttyS0`, `SHIFT_${tag}:{ok}|`);

    // Left arrow and End are extended keys (E0 prefix): insert "b" between "a" and "c".
    await typeWithShift(page, `echo arrows-${tag.toLowerCase()}-ac`);
    await press(page, 'ArrowLeft');
    await press(page, 'KeyB');
    await press(page, 'End');
    await typeWithShift(page, ' >/dev/ttyS0');
    await press(page, 'Enter');
    await waitForSerial(serialLog, `arrows-${tag.toLowerCase()}-abc`);
  });

  test('with a German keyboard layout, keys still go by their physical position', async () => {
    // On QWERTZ the browser reports "z" for the key at Y, "ß" for the key at "-" and "-" for
    // the key at "/": a keyCode-based client would type "echo de?zy... >" as something else.
    const tag = randomBytes(3).toString('hex');
    await screen().click();
    await typeOnGermanLayout(page, context, `echo de-yz${tag} >/dev/ttyS0`);
    await waitForSerial(serialLog, `de-yz${tag}`);
  });

  test('a click lands where it was clicked, on the scaled screen and at real size', async () => {
    const canvas = screen();
    const size = await canvas.evaluate((c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
    await expect(tool('Fit to window')).toHaveAttribute('aria-pressed', 'true');

    const clickAndRead = async (fx: number, fy: number) => {
      const box = (await canvas.boundingBox())!;
      const target = { x: Math.round(size.width * fx), y: Math.round(size.height * fy) };
      const before = presses.length;
      await page.mouse.click(box.x + ((target.x + 0.5) * box.width) / size.width, box.y + ((target.y + 0.5) * box.height) / size.height);
      await expect.poll(() => presses.length, { message: 'the click is sent' }).toBe(before + 1);
      return { target, sent: presses.at(-1)!, scale: box.width / size.width };
    };

    const scaled = await clickAndRead(0.3, 0.6);
    expect(Math.abs(scaled.scale - 1), `the screen is scaled (×${scaled.scale.toFixed(2)})`).toBeGreaterThan(0.1);
    expect(Math.abs(scaled.sent.x - scaled.target.x)).toBeLessThanOrEqual(1);
    expect(Math.abs(scaled.sent.y - scaled.target.y)).toBeLessThanOrEqual(1);

    await tool('Fit to window').click();
    await expect(tool('Fit to window')).toHaveAttribute('aria-pressed', 'false');
    await expect.poll(async () => (await canvas.boundingBox())!.width).toBeCloseTo(size.width, 0);
    const real = await clickAndRead(0.7, 0.2);
    expect(Math.abs(real.sent.x - real.target.x)).toBeLessThanOrEqual(1);
    expect(Math.abs(real.sent.y - real.target.y)).toBeLessThanOrEqual(1);

    await tool('Fit to window').click();
    await expect(tool('Fit to window')).toHaveAttribute('aria-pressed', 'true');
  });

  test('Send text types text with symbols and new lines into the desktop', async () => {
    const tag = randomBytes(3).toString('hex');
    await tool('Send text').click();
    const dialog = page.getByRole('dialog', { name: 'Send text' });
    await expect(dialog).toBeVisible();
    await dialog
      .getByRole('textbox', { name: 'Text to type' })
      .fill(`echo 'one-${tag} ~!@#$%^&*()_+{}|:"<>?' >/dev/ttyS0\necho 'TWO-${tag} [];,./\\=\`' >/dev/ttyS0\n`);
    await dialog.getByRole('button', { name: 'Type text' }).click();
    await expect(dialog).toBeHidden();
    await waitForSerial(serialLog, `one-${tag} ~!@#$%^&*()_+{}|:"<>?`);
    await waitForSerial(serialLog, `TWO-${tag} [];,./\\=\``);
    await expect(page.getByRole('status').filter({ hasText: /^Typed \d+ characters\.$/ })).toBeVisible();
  });

  test('Ctrl+Alt+Del reaches the guest, whose init restarts it', async () => {
    const boots = bootsIn(serialLog);
    await tool('Ctrl+Alt+Del').click();
    await expect.poll(() => bootsIn(serialLog), { timeout: 90_000, message: 'the guest boots again' }).toBe(boots + 1);
    // The console stays connected through the guest's reboot and still takes keys.
    const tag = randomBytes(3).toString('hex');
    await runOnGuest(`echo after-reboot-${tag} >/dev/ttyS0`, `after-reboot-${tag}`);
  });

  test('Full screen puts the console page in full screen and back', async () => {
    await tool('Full screen').click();
    await expect(tool('Full screen')).toHaveAttribute('aria-pressed', 'true');
    expect(await page.evaluate(() => document.fullscreenElement?.className)).toBe('console-page');
    await tool('Full screen').click();
    await expect(tool('Full screen')).toHaveAttribute('aria-pressed', 'false');
    expect(await page.evaluate(() => document.fullscreenElement)).toBeNull();
  });

  test('the console comes back by itself, without a reload, after the SPICE connection is cut', async () => {
    await page.evaluate(() => {
      const w = window as unknown as { floeStatuses: string[]; floeSamePage: boolean };
      w.floeStatuses = [];
      w.floeSamePage = true;
      const status = document.querySelector('[aria-label="Console connection"]')!;
      new MutationObserver(() => w.floeStatuses.push(status.textContent ?? '')).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    let sockets = 0;
    page.on('websocket', () => sockets++);

    // Cut every TCP connection from the relay to this desktop's SPICE port, as a network
    // failure would: the relay loses its SPICE side and closes the page's WebSockets.
    execFileSync('ss', ['-K', '-t', 'dst', vm.spiceHost, 'dport', '=', String(vm.spicePort)]);

    await expect.poll(() => page.evaluate(() => (window as unknown as { floeStatuses: string[] }).floeStatuses)).toContain('Reconnecting…');
    await expect(connectionStatus()).toHaveText('Connected', { timeout: 30_000 });
    await expect(screen()).toBeVisible();
    await expect.poll(() => litPixels(page), { timeout: 30_000 }).toBeGreaterThan(200);
    expect(sockets, 'new WebSockets were opened').toBeGreaterThanOrEqual(4);
    expect(await page.evaluate(() => (window as unknown as { floeSamePage?: boolean }).floeSamePage)).toBe(true);

    const tag = randomBytes(3).toString('hex');
    await runOnGuest(`echo reconnected-${tag} >/dev/ttyS0`, `reconnected-${tag}`);
  });

  test('Disconnect closes the console until Reconnect is pressed', async () => {
    await expect.poll(() => relayConnections(vm), { message: 'the relay is connected to the SPICE port' }).toBeGreaterThan(0);
    await tool('Disconnect').click();
    await expect(page.getByRole('heading', { name: 'Disconnected' })).toBeVisible();
    await expect(connectionStatus()).toHaveText('Disconnected');
    await expect(screen()).toHaveCount(0);
    await expect(tool('Ctrl+Alt+Del')).toBeDisabled();
    // The relay session really ended: no connection of the relay to the desktop's SPICE port is left.
    await expect.poll(() => relayConnections(vm), { message: 'the relay let go of the SPICE port' }).toBe(0);
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await expect(connectionStatus()).toHaveText('Connected', { timeout: 30_000 });
    await expect(screen()).toBeVisible();
    await expect.poll(() => relayConnections(vm)).toBeGreaterThan(0);
  });

  test('the Power menu asks first, and Reset restarts the desktop', async () => {
    const boots = bootsIn(serialLog);
    const powerRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith(`/api/desktops/${desktopId}/power`)) powerRequests.push(request.postData() ?? '');
    });

    await tool('Power').click();
    const menu = page.getByRole('menu', { name: 'Power' });
    await expect(menu.getByRole('menuitem')).toHaveText(['Shut down', 'Restart', 'Reset']);
    await menu.getByRole('menuitem', { name: 'Shut down' }).click();
    const shutDown = page.getByRole('dialog', { name: 'Shut down your desktop?' });
    await expect(shutDown).toBeVisible();
    await shutDown.getByRole('button', { name: 'Cancel' }).click();
    await expect(shutDown).toBeHidden();
    expect(powerRequests, 'nothing is sent when the person cancels').toEqual([]);

    await tool('Power').click();
    await page.getByRole('menu', { name: 'Power' }).getByRole('menuitem', { name: 'Reset' }).click();
    const reset = page.getByRole('dialog', { name: 'Reset your desktop?' });
    await reset.getByRole('button', { name: 'Reset' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Your desktop was reset and is starting again.' })).toBeVisible();
    expect(powerRequests.map((body) => JSON.parse(body))).toEqual([{ action: 'reset' }]);

    await expect.poll(() => bootsIn(serialLog), { timeout: 90_000, message: 'the guest boots again' }).toBe(boots + 1);
    await expect(connectionStatus()).toHaveText('Connected', { timeout: 60_000 });
    const tag = randomBytes(3).toString('hex');
    await runOnGuest(`echo after-reset-${tag} >/dev/ttyS0`, `after-reset-${tag}`);
  });

  test('a second tab asks first, takes the console over, and the first can take it back', async () => {
    const second = await context.newPage();
    await second.goto(`/desktops/${desktopId}`);
    const question = second.getByRole('alertdialog', { name: 'Open in another window' });
    await expect(question).toContainText('This desktop is open in another window (since', { timeout: 60_000 });
    await question.getByRole('button', { name: 'Continue here' }).click();
    await expect(second.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', { timeout: 60_000 });
    const notice = page.getByRole('alert').filter({ hasText: 'Your desktop was opened elsewhere at' });
    await expect(notice).toBeVisible({ timeout: 15_000 });
    await expect(connectionStatus()).toHaveText('Opened elsewhere');

    await notice.getByRole('button', { name: 'Take it back' }).click();
    await expect(connectionStatus()).toHaveText('Connected', { timeout: 30_000 });
    await expect(second.getByRole('alert').filter({ hasText: 'Your desktop was opened elsewhere at' })).toBeVisible({ timeout: 15_000 });
    await second.close();
    const tag = randomBytes(3).toString('hex');
    await runOnGuest(`echo taken-back-${tag} >/dev/ttyS0`, `taken-back-${tag}`);
  });

  test('another browser asks "Continue here?", and the first window is told it was opened elsewhere', async ({ browser, floe }) => {
    const other = await browser.newContext({ baseURL: floe.url, viewport: { width: 1280, height: 800 } });
    try {
      const elsewhere = await other.newPage();
      await signIn(elsewhere, 'alice', floe.password);
      await elsewhere.goto(`/desktops/${desktopId}`);
      const question = elsewhere.getByRole('alertdialog', { name: 'Open in another window' });
      await expect(question).toContainText(/This desktop is open in another window \(since \d\d:\d\d( [AP]M)? from 127\.0\.0\.1, Chrom\w* \d+ on Linux\)\. Continue here\?/, {
        timeout: 60_000,
      });
      await question.getByRole('button', { name: 'Continue here' }).click();
      await expect(elsewhere.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', { timeout: 60_000 });
      const notice = page.getByRole('alert').filter({ hasText: 'Your desktop was opened elsewhere at' });
      await expect(notice).toBeVisible({ timeout: 15_000 });

      await notice.getByRole('button', { name: 'Take it back' }).click();
      await expect(connectionStatus()).toHaveText('Connected', { timeout: 60_000 });
      await expect(elsewhere.getByRole('alert').filter({ hasText: 'Your desktop was opened elsewhere at' })).toBeVisible({ timeout: 15_000 });
      // No false "in use" once the other window is gone: reopening here does not ask.
      await elsewhere.close();
      await page.reload();
      await expect(connectionStatus()).toHaveText('Connected', { timeout: 60_000 });
    } finally {
      await other.close();
    }
  });

  test('when the sign-in has ended, the console says so instead of retrying', async () => {
    await context.clearCookies();
    execFileSync('ss', ['-K', '-t', 'dst', vm.spiceHost, 'dport', '=', String(vm.spicePort)]);
    const alert = page.getByRole('alert').filter({ hasText: 'Your sign-in has ended.' });
    await expect(alert).toHaveText(/Your sign-in has ended\. Sign in again\./, { timeout: 30_000 });
    await expect(alert.getByRole('link', { name: 'Sign in again' })).toHaveAttribute(
      'href',
      `/login?callbackUrl=${encodeURIComponent(`/desktops/${desktopId}`)}`,
    );
    await expect(connectionStatus()).toHaveText('Signed out');
  });
});
