/**
 * Two languages (next-intl): a browser that asks for German gets the sign-in page, the top bar,
 * My desktops, the console page, the helpdesk pages and the admin pool page in German (found
 * here by role and German name); the switch in the top bar changes the language (kept in a
 * cookie); the page tells the server the browser's time zone, and times (a booted desktop's
 * start on My desktops, the pool page's last update) are shown in the person's language and
 * time zone; what the server answers on the users page (refusals, outcomes) is said in German
 * from the catalogue's Api words. The other specs run with an English browser (playwright.config.ts).
 */
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { type TestFloe, expect, test, userCommand } from './auth-fixtures';

/** A German browser in Tokyo, signed in through the German form, with its time zone told to the server. */
async function germanSignIn(browser: Browser, floe: TestFloe, name: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: floe.url, locale: 'de-DE', timezoneId: 'Asia/Tokyo' });
  const page = await context.newPage();
  await page.goto('/login');
  await expect(page.locator('html')).toHaveAttribute('lang', 'de');
  await expect(page.getByRole('heading', { name: 'Bei Floe anmelden' })).toBeVisible();
  await page.getByLabel('Benutzername').fill(name);
  await page.getByLabel('Passwort').fill(floe.password);
  await page.getByRole('button', { name: 'Anmelden' }).click();
  await expect(page.getByRole('banner')).toContainText('Angemeldet als');
  await expect.poll(async () => (await context.cookies()).find((c) => c.name === 'floe-tz')?.value).toBe('Asia%2FTokyo');
  return { context, page };
}

test('German from the browser, English from the switch, dates in the person\'s time zone', async ({ browser, floe }) => {
  test.setTimeout(240_000);
  expect((await userCommand(floe, ['add', 'greta', '--display-name', 'Greta Weber', '--password-stdin'], `${floe.password}\n`)).code).toBe(0);
  const { context, page } = await germanSignIn(browser, floe, 'greta');
  await expect(page.getByRole('heading', { name: /Meine? Desktops?/ })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('Angemeldet als Greta Weber');

  // The console page in German: start-up, status, screen, toolbar, Power menu and its confirmation.
  await page.getByRole('button', { name: 'Desktop öffnen' }).click();
  await expect(page.getByRole('status', { name: 'Konsolenverbindung' })).toHaveText('Verbunden', { timeout: 200_000 });
  await expect(page.getByRole('application', { name: 'Desktop-Bildschirm' })).toBeVisible();
  const controls = page.getByRole('group', { name: 'Konsolensteuerung' });
  await expect(controls.getByRole('button', { name: 'Text senden' })).toBeEnabled();
  await expect(controls.getByRole('button', { name: 'An Fenster anpassen' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByRole('button', { name: 'Tastatur freigeben' })).toBeVisible();
  await controls.getByRole('button', { name: 'Ein/Aus' }).click();
  await page.getByRole('menu', { name: 'Ein/Aus' }).getByRole('menuitem', { name: 'Neu starten' }).click();
  const asking = page.getByRole('dialog', { name: 'Ihren Desktop neu starten?' });
  await expect(asking).toContainText('Speichern Sie vorher Ihre Arbeit');
  await asking.getByRole('button', { name: 'Abbrechen' }).click();
  await expect(asking).toBeHidden();
  await controls.getByRole('button', { name: 'Trennen' }).click();
  await expect(page.getByRole('heading', { name: 'Getrennt' })).toBeVisible();
  await expect(page.getByText('Sie haben die Verbindung zu Ihrem Desktop getrennt. Er läuft weiter.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Neu verbinden' })).toBeVisible();

  // A booted desktop: its start time in German, in Tokyo time.
  await page.getByRole('navigation', { name: 'Desktop' }).getByRole('link', { name: /Meine Desktops/ }).click();
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

test('the helpdesk and the admin pool page in German, times in the person\'s zone', async ({ browser, floe }) => {
  // The helpdesk: search, results, a person's page. The person is this test's own (the demo
  // people may have desktops from other specs on this server).
  const person = `hanna-${Date.now().toString(36)}`;
  expect((await userCommand(floe, ['add', person, '--display-name', 'Hanna Vogt', '--password-stdin'], `${floe.password}\n`)).code).toBe(0);
  const helpdesk = await germanSignIn(browser, floe, 'helen');
  await helpdesk.page.goto('/helpdesk');
  await expect(helpdesk.page.getByRole('heading', { level: 1, name: 'Helpdesk' })).toBeVisible();
  await helpdesk.page.getByRole('searchbox', { name: 'Person suchen' }).fill(person);
  await helpdesk.page.getByRole('button', { name: 'Suchen' }).click();
  await expect(helpdesk.page.getByRole('status')).toHaveText('1 gefunden.');
  await expect(helpdesk.page.getByRole('columnheader', { name: 'Offene Konsolen' })).toBeVisible();
  await helpdesk.page.getByRole('link', { name: 'Hanna Vogt' }).click();
  await expect(helpdesk.page.getByRole('heading', { level: 1, name: 'Hanna Vogt' })).toBeVisible();
  await expect(helpdesk.page.getByRole('region', { name: 'Desktops' })).toContainText('Hanna Vogt hat zurzeit keinen Desktop.');
  await expect(helpdesk.page.getByRole('region', { name: 'Jetzt offene Konsolen' })).toBeVisible();
  await expect(helpdesk.page.getByRole('region', { name: 'Letzte Konsolen' })).toBeVisible();
  await expect(helpdesk.page.getByRole('navigation', { name: 'Mitarbeitende' }).getByRole('link', { name: 'Helpdesk' })).toHaveAttribute('aria-current', 'page');
  await helpdesk.context.close();

  // The admin pool page: headings, tables, the live status, the pool form; the last update in Tokyo time.
  const admin = await germanSignIn(browser, floe, 'admin');
  await admin.page.goto('/admin/pools');
  await expect(admin.page.getByRole('heading', { level: 1, name: 'Pools und Desktops' })).toBeVisible();
  await expect(admin.page.getByRole('navigation', { name: 'Mitarbeitende' }).getByRole('link', { name: 'Pools' })).toHaveAttribute('aria-current', 'page');
  const pool = admin.page.getByRole('row', { name: 'Pool demo', exact: true });
  await expect(pool.getByRole('button', { name: 'Bearbeiten' })).toBeVisible();
  await expect(pool.getByRole('button', { name: 'Auslaufen lassen' })).toBeVisible();
  await expect(pool).toContainText('dauerhaft');
  await expect(admin.page.getByRole('columnheader', { name: 'Reserven bereit' })).toBeVisible();
  await expect(admin.page.getByRole('status', { name: 'Gezeigte Desktops' })).toBeVisible();
  await expect(admin.page.getByRole('group', { name: 'Desktops filtern' })).toBeVisible();
  const updated = admin.page.locator('p.updated time');
  await expect(updated).toHaveText(/\d/);
  const at = new Date((await updated.getAttribute('datetime'))!);
  const tokyo = new Intl.DateTimeFormat('de', { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short', timeZone: 'Asia/Tokyo' });
  // It updates every 2 s: the text matches the datetime it was rendered with.
  await expect.poll(async () => {
    const time = admin.page.locator('p.updated time');
    return (await time.textContent()) === tokyo.format(new Date((await time.getAttribute('datetime'))!));
  }).toBe(true);
  expect(tokyo.format(at)).toMatch(/GMT\+9|JST/);
  await admin.page.getByRole('button', { name: 'Neuer Pool' }).click();
  const form = admin.page.getByRole('dialog', { name: 'Neuer Pool' });
  await expect(form.getByRole('textbox', { name: 'Titel' })).toBeVisible();
  await expect(form.getByRole('spinbutton', { name: 'Speicher pro Desktop (MiB)' })).toBeVisible();
  await expect(form.getByRole('button', { name: 'Pool anlegen' })).toBeVisible();
  await form.getByRole('button', { name: 'Abbrechen' }).click();
  await expect(form).toBeHidden();

  // An address with no page: said in German, with the way back.
  await admin.page.goto('/desktops/no-such-desktop');
  await expect(admin.page.getByRole('heading', { level: 1, name: 'Diese Seite gibt es nicht' })).toBeVisible();
  await expect(admin.page.getByRole('link', { name: 'Zu meinen Desktops' })).toBeVisible();

  // The users page: what the server answers (a refused field, a change's outcome) is said in German.
  await admin.page.goto('/admin/users');
  const add = admin.page.getByRole('region', { name: 'Person hinzufügen' });
  await add.getByLabel('Benutzername').fill('carol diaz!');
  await add.getByRole('button', { name: 'Hinzufügen' }).click();
  await expect(add.getByText('Ein Benutzername darf Buchstaben, Ziffern und . _ @ - enthalten.')).toBeVisible();
  await add.getByLabel('Benutzername').fill(person);
  await add.getByRole('button', { name: 'Hinzufügen' }).click();
  await expect(add.getByText(`Es gibt bereits einen Benutzer namens „${person}“.`)).toBeVisible();
  await expect(add.getByLabel('Benutzername')).toHaveAttribute('aria-invalid', 'true');
  await admin.page.goto(`/admin/users/${person}`);
  const account = admin.page.getByRole('region', { name: 'Konto' });
  await account.getByLabel('Rolle').selectOption('helpdesk');
  await account.getByRole('button', { name: 'Rolle ändern' }).click();
  await expect(account.getByRole('status')).toHaveText(`${person} ist jetzt Helpdesk (vorher Benutzer).`);
  await account.getByRole('button', { name: 'Sperren' }).click();
  await expect(account.getByRole('status')).toHaveText(`${person} gesperrt.`);
  await admin.context.close();
});
