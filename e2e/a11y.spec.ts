/**
 * Accessibility, on a server of its own: every page of Floe, in the light and the dark theme
 * (the system setting, emulated), passes axe-core (@axe-core/playwright) with no serious or
 * critical violation: sign-in, My desktops, a desktop booting and running, the helpdesk's
 * search, person and console pages, the admin's pools, users, one user and audit log pages,
 * and the "not allowed" and "not found" pages. Keyboard: the console takes keys only while its
 * screen is focused, and Ctrl+Alt+Shift+L (shown in the toolbar button's tooltip) gives the
 * keyboard back to the page, so Tab never traps anyone.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test, userCommand } from './auth-fixtures';
import { signIn } from './fixtures';

/** Scans the page as it is now in both themes; fails listing every serious or critical violation. */
async function scan(page: Page, what: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('\n    ')}`);
    expect.soft(report, `${what}, ${colorScheme} theme`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: null });
}

test('every page passes axe in the light and the dark theme', async ({ page, floe, browser }) => {
  test.setTimeout(300_000);
  await page.goto('/login');
  await scan(page, 'sign-in');

  // A person of its own, so the desktop is sure to boot here (the specs sharing this server run in any order).
  expect((await userCommand(floe, ['add', 'axel', '--display-name', 'Axel Berg', '--password-stdin'], `${floe.password}\n`)).code).toBe(0);
  await signIn(page, 'axel', floe.password);
  await scan(page, 'My desktops');
  await page.goto('/desktops/no-such-desktop');
  await expect(page.getByRole('heading', { level: 1, name: 'This page does not exist' })).toBeVisible();
  await scan(page, 'not found');
  await page.goto('/admin/pools');
  await scan(page, 'not allowed');

  await page.goto('/desktops');
  await page.getByRole('button', { name: 'Open desktop' }).click();
  const booting = page.getByRole('heading', { name: 'Getting your desktop ready' });
  const connection = page.getByRole('status', { name: 'Console connection' });
  // An instant clone (once the template snapshot exists) may go straight to the console.
  const connected = connection.filter({ hasText: 'Connected' });
  await expect.poll(async () => (await booting.isVisible()) || (await connected.isVisible()), { timeout: 200_000 }).toBe(true);
  if (await booting.isVisible()) await scan(page, 'desktop booting');
  await expect(connection).toHaveText('Connected', { timeout: 200_000 });
  await scan(page, 'desktop running');

  // Keyboard: focus the screen, then the chord gives the keyboard back; Tab moves on from there.
  const screen = page.getByRole('application', { name: 'Desktop screen' });
  await screen.focus();
  await page.keyboard.press('Tab');
  await expect(screen, 'Tab goes to the desktop while its screen has the focus').toBeFocused();
  const release = page.getByRole('button', { name: 'Release keyboard' });
  await expect(release).toHaveAttribute('title', /Ctrl\+Alt\+Shift\+L/);
  await page.keyboard.press('Control+Alt+Shift+KeyL');
  await expect(screen).not.toBeFocused();
  await expect(page.getByRole('link', { name: /My desktops/ })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(screen).not.toBeFocused();
  await screen.focus();
  await release.click();
  await expect(screen).not.toBeFocused();

  const staffContext = await browser.newContext({ baseURL: floe.url });
  const staff = await staffContext.newPage();
  await signIn(staff, 'helen', floe.password);
  await staff.goto('/helpdesk');
  await scan(staff, 'helpdesk');
  await staff.goto('/helpdesk/people/axel');
  await scan(staff, 'helpdesk person');
  const desktopId = new URL(page.url()).pathname.split('/').pop()!;
  expect((await staff.request.post(`/api/helpdesk/desktops/${desktopId}/open`, { data: { reason: 'accessibility scan' } })).status()).toBe(200);
  await staff.goto(`/helpdesk/desktops/${desktopId}/console`);
  await expect(staff.getByRole('status', { name: 'Console connection' })).not.toHaveText('');
  await scan(staff, 'helpdesk console');
  await staffContext.close();

  const adminContext = await browser.newContext({ baseURL: floe.url });
  const admin = await adminContext.newPage();
  await signIn(admin, 'admin', floe.password);
  for (const [path, what] of [
    ['/admin/pools', 'pools'],
    ['/admin/users', 'users'],
    ['/admin/users/axel', 'one user'],
    ['/admin/audit', 'audit log'],
    ['/admin/hosts', 'hosts'],
  ] as const) {
    await admin.goto(path);
    await scan(admin, what);
  }
  await adminContext.close();
});

test('the pages work 390 px wide: nothing wider than the screen', async ({ browser, floe }) => {
  const phoneContext = await browser.newContext({ baseURL: floe.url, viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const phone = await phoneContext.newPage();
  await phone.goto('/login');
  await signIn(phone, 'admin', floe.password);
  for (const path of ['/desktops', '/helpdesk', '/helpdesk/people/alice', '/admin/pools', '/admin/users', '/admin/users/alice', '/admin/audit', '/admin/hosts']) {
    await phone.goto(path);
    await expect(phone.getByRole('heading', { level: 1 })).toBeVisible();
    // Live pages (pools) lay out again once their first figures arrive.
    await expect.soft.poll(() => phone.evaluate(() => document.documentElement.scrollWidth), { message: `${path} fits 390 px` }).toBeLessThanOrEqual(390);
  }
  await phoneContext.close();
});
