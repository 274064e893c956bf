/**
 * The whole path once, for real: a person signs in, opens their desktop (a QEMU VM booted from
 * the demo pool), sees the boot progress and then the guest's screen on the canvas, types a
 * command that reaches the guest (proved by the guest writing a marker to its serial log), and
 * after a reload or a new tab gets the same running VM back. A wrong password is refused.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import type { Page } from '@playwright/test';
import { trySpiceLogin } from '../server/hypervisor/qemu/spice-login';
import type { VmInfo } from '../server/hypervisor/types';
import { expect, litPixels, screenshotPath, signIn, test } from './fixtures';
import { caOf, parseVirtViewerFile, secureTunnel } from './remote-viewer-file';

/**
 * Types a shell command on the guest's console. spice-html5 sends Shift only when it is pressed,
 * so capitals and shifted symbols are pressed with Shift (Playwright's type() does not).
 */
async function typeCommand(page: Page, command: string): Promise<void> {
  const shifted: Record<string, string> = { '>': 'Shift+Period', '|': 'Shift+Backslash', _: 'Shift+Minus' };
  for (const char of command) {
    const combo = shifted[char] ?? (/[A-Z]/.test(char) ? `Shift+Key${char}` : undefined);
    if (combo) await page.keyboard.press(combo);
    else await page.keyboard.type(char);
  }
  await page.keyboard.press('Enter');
}

async function waitForSerial(file: string, marker: string): Promise<void> {
  await expect.poll(() => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''), { timeout: 30_000 }).toContain(marker);
}

test('a wrong password is refused with a clear message', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill('not-her-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /\S/ })).toHaveText('Wrong user name or password.');
  await expect(page).toHaveURL(/\/login/);
});

/** Pictures of the person's pages for docs/ (README links them; see screenshotPath). */
const shot = (page: Page, name: string) => page.screenshot({ path: screenshotPath(`${name}.png`) });

// Bob, not alice: the console and helpdesk specs share this worker's server and use alice's desktop.
test('bob opens his desktop, types into it, and gets the same VM back', async ({ page, context, floe }) => {
  await page.goto('/login');
  await shot(page, 'sign-in');
  await signIn(page, 'bob', floe.password);
  await expect(page.getByRole('listitem', { name: 'Demo desktop' })).toContainText('Not started');
  await shot(page, 'my-desktops');

  const clickedAt = Date.now();
  await page.getByRole('listitem', { name: 'Demo desktop' }).getByRole('button', { name: 'Open desktop' }).click();
  const screen = page.getByRole('application', { name: 'Desktop screen' });
  // An instant clone may be ready before the boot progress is ever drawn.
  const progress = page.getByRole('progressbar', { name: 'Desktop start-up' });
  // Both can be in the page for a moment (the screen mounts while the last step is shown).
  await expect.poll(async () => (await progress.isVisible()) || (await screen.isVisible()), { timeout: 15_000 }).toBe(true);
  if (await progress.isVisible()) await shot(page, 'desktop-booting');

  await expect(screen).toBeVisible({ timeout: 180_000 });
  await expect.poll(() => litPixels(page), { timeout: 60_000, intervals: [100] }).toBeGreaterThan(200);
  const firstFrameMs = Date.now() - clickedAt;
  const desktopId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  const [vm] = (await floe.hypervisor.list()).filter((v: VmInfo) => v.id === desktopId);
  expect(vm, 'the desktop runs as a QEMU process').toBeDefined();
  console.log(`time from "Open desktop" to the first guest frame: ${firstFrameMs} ms (accelerator ${vm!.accelerator})`);
  test.info().annotations.push({ type: 'first-frame-ms', description: String(firstFrameMs) });

  const serialLog = floe.hypervisor.serialLogPath(desktopId);
  await shot(page, 'desktop-running');
  const marker = `floe-${randomBytes(4).toString('hex')}`;
  await screen.click();
  await typeCommand(page, `echo ${marker} >/dev/ttyS0`);
  await waitForSerial(serialLog, marker);

  // Reload: the same desktop (same QEMU process) comes back and still takes keys.
  await page.reload();
  await expect(screen).toBeVisible({ timeout: 60_000 });
  await expect.poll(() => litPixels(page), { timeout: 60_000 }).toBeGreaterThan(200);
  await screen.click();
  const marker2 = `again-${randomBytes(4).toString('hex')}`;
  await typeCommand(page, `echo ${marker2} >/dev/ttyS0`);
  await waitForSerial(serialLog, marker2);
  expect((await floe.hypervisor.list()).find((v: VmInfo) => v.id === desktopId)?.pid).toBe(vm!.pid);

  // Close the tab, open the desktops page in a new one: "Open desktop" leads to the same VM.
  const personalDesktops = async () =>
    (await floe.hypervisor.list()).map((v: VmInfo) => v.id).filter((id: string) => !id.startsWith('demo-fresh-')).sort();
  const before = await personalDesktops();
  expect(before).toContain(desktopId);
  await page.close();
  const tab = await context.newPage();
  await tab.goto('/desktops');
  await expect(tab.getByRole('listitem', { name: 'Demo desktop' })).toContainText('Running');
  await tab.getByRole('listitem', { name: 'Demo desktop' }).getByRole('button', { name: 'Open desktop' }).click();
  await expect(tab).toHaveURL(new RegExp(`/desktops/${desktopId}$`));
  await expect(tab.getByRole('application', { name: 'Desktop screen' })).toBeVisible({ timeout: 60_000 });
  expect(await personalDesktops(), 'no second desktop was booted').toEqual(before);

  // The native client: the .vv file parses, and its password opens the desktop's SPICE port
  // through Floe's CONNECT proxy (the way remote-viewer goes) once; a wrong one is refused.
  const download = await tab.request.get(`/api/desktops/${desktopId}/remote-viewer`);
  expect(download.status()).toBe(200);
  expect(download.headers()['content-disposition']).toBe(`attachment; filename="${desktopId}.vv"`);
  const vv = parseVirtViewerFile(await download.text());
  expect(vv.type).toBe('spice');
  expect(vv['delete-this-file']).toBe('1');
  // Every channel is TLS, checked against Floe's CA and the certificate's subject (issue 12, 9).
  expect(vv['secure-channels']).toBe('all');
  expect(vv.port, 'no clear-text port').toBeUndefined();
  expect(vv['host-subject']).toBe('CN=floe-spice');
  expect(caOf(vv)).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----$/);
  const proxy = new URL(vv.proxy!);
  expect(await spiceLoginThroughProxy(proxy, `${vv.host}:${vv['tls-port']}`, vv.password!, vv)).toBe('ok');
  // A .vv file opens one console session: its ticket, once used, is refused before any tunnel.
  expect(await spiceLoginThroughProxy(proxy, `${vv.host}:${vv['tls-port']}`, vv.password!, vv)).toBe('refused 409');
  // A new .vv file with a wrong password: SPICE itself refuses the login.
  const again = parseVirtViewerFile(await (await tab.request.get(`/api/desktops/${desktopId}/remote-viewer`)).text());
  expect(await spiceLoginThroughProxy(proxy, `${again.host}:${again['tls-port']}`, 'wrong-password', again)).toBe('denied');
  expect(await spiceLoginThroughProxy(proxy, `${'0'.repeat(60)}.console.floe:5901`, vv.password!, vv)).toBe('refused 401');

  // "Shut down" on My desktops asks first, then stops the VM; the desktop can be started again.
  await tab.goto('/desktops');
  const card = tab.getByRole('listitem', { name: 'Demo desktop' });
  await card.getByRole('button', { name: 'Shut down' }).click();
  const asking = tab.getByRole('dialog', { name: 'Shut down this desktop?' });
  await expect(asking).toContainText('Your files in /home are kept');
  await asking.getByRole('button', { name: 'Shut down' }).click();
  await expect(card.getByText('Shut down', { exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(card.getByRole('button', { name: 'Start again' })).toBeVisible();
  await expect.poll(async () => (await floe.hypervisor.list()).some((v: VmInfo) => v.id === desktopId), { timeout: 15_000 }).toBe(false);
});

/** Opens a CONNECT tunnel through the proxy, starts TLS as the .vv says, then tries a SPICE login over it. */
async function spiceLoginThroughProxy(proxy: URL, authority: string, password: string, vv: Record<string, string | undefined>): Promise<string> {
  const socket = net.connect(Number(proxy.port), proxy.hostname);
  await once(socket, 'connect');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const [head] = (await once(socket, 'data')) as [Buffer];
  const status = Number(head.toString('latin1').split(' ')[1]);
  if (status !== 200) {
    socket.destroy();
    return `refused ${status}`;
  }
  return trySpiceLogin('', 0, password, { socket: await secureTunnel(socket, vv) });
}
