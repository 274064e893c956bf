/**
 * Two languages (next-intl): a browser that asks for German gets the sign-in page, the top bar
 * and My desktops in German; the switch in the top bar changes the language (kept in a cookie);
 * the page tells the server the browser's time zone, and a booted desktop's start time on My
 * desktops is shown in the person's language and time zone.
 */
import { expect, test, userCommand } from './auth-fixtures';

test('German from the browser, English from the switch, dates in the person\'s time zone', async ({ browser, floe }) => {
  test.setTimeout(240_000);
  expect((await userCommand(floe, ['add', 'greta', '--display-name', 'Greta Weber', '--password-stdin'], `${floe.password}\n`)).code).toBe(0);
  const context = await browser.newContext({ baseURL: floe.url, locale: 'de-DE', timezoneId: 'Asia/Tokyo' });
  const page = await context.newPage();
  await page.goto('/login');
  await expect(page.locator('html')).toHaveAttribute('lang', 'de');
  await expect(page.getByRole('heading', { name: 'Bei Floe anmelden' })).toBeVisible();
  await page.getByLabel('Benutzername').fill('greta');
  await page.getByLabel('Passwort').fill(floe.password);
  await page.getByRole('button', { name: 'Anmelden' }).click();
  await expect(page.getByRole('heading', { name: /Meine? Desktops?/ })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('Angemeldet als Greta Weber');
  await expect.poll(async () => (await context.cookies()).find((c) => c.name === 'floe-tz')?.value).toBe('Asia%2FTokyo');

  // A booted desktop: its start time in German, in Tokyo time.
  await page.getByRole('button', { name: 'Desktop öffnen' }).click();
  await expect(page.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', { timeout: 200_000 });
  await page.goto('/desktops');
  const card = page.getByRole('listitem').first();
  await expect(card).toContainText('Läuft');
  const shown = await card.locator('time').getAttribute('datetime');
  const expected = new Intl.DateTimeFormat('de', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(new Date(shown!));
  await expect(card.locator('time')).toHaveText(expected);

  // The switch: English, kept for the next page.
  await page.getByRole('combobox', { name: 'Sprache' }).selectOption('en');
  await expect(page.getByRole('heading', { name: /My desktops?/ })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await page.reload();
  await expect(page.getByRole('banner')).toContainText('Signed in as Greta Weber');
  await context.close();
});
