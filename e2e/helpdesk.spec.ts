/**
 * The helpdesk for real, on one desktop booted once: alice opens her desktop (a QEMU VM) in her
 * own browser; helen (helpdesk) finds her by display name, sees her desktop and her live
 * console (address, browser, bytes), closes that console with a reason (alice's window is told)
 * and resets the desktop (the guest boots again: a second ready line on its serial port); a
 * helpdesk console ticket is given for alice's desktop to helen but not to alice; "Open as
 * helpdesk" records its reason and leads to the helpdesk's console page. The admin then finds
 * all of it, with the reasons, in the audit log: filtered, and as a CSV download. Takes the
 * pictures docs/helpdesk.png, helpdesk-person.png and audit.png (see screenshotPath).
 */
import fs from 'node:fs';
import os from 'node:os';
import { expect, screenshotPath, signIn, test } from './fixtures';

const READY_MARKER = 'FLOE-GUEST-READY';
const serialText = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
const bootsIn = (file: string) => serialText(file).split(READY_MARKER).length - 1;

test('helen finds alice, sees her live console, disconnects it and resets her desktop; the audit log keeps it all', async ({ browser, floe }) => {
  // Alice, in her own browser, opens her desktop and sees its screen.
  const aliceContext = await browser.newContext();
  const alice = await aliceContext.newPage();
  await signIn(alice, 'alice', floe.password);
  // Earlier specs on this server may have left her desktop shut down: then it says "Start again".
  await alice.getByRole('listitem', { name: 'Demo desktop' }).getByRole('button', { name: /^(Open desktop|Start again)$/ }).click();
  await expect(alice.getByRole('application', { name: 'Desktop screen' })).toBeVisible({ timeout: 180_000 });
  await expect(alice.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', { timeout: 60_000 });
  const desktopId = decodeURIComponent(new URL(alice.url()).pathname.split('/').pop()!);
  const serialLog = floe.hypervisor.serialLogPath(desktopId);

  // Alice may not use the helpdesk's pages or routes.
  expect((await alice.request.get('/helpdesk')).status()).toBe(403);
  expect((await alice.request.post(`/api/helpdesk/desktops/${desktopId}/console-ticket`)).status()).toBe(403);
  expect((await alice.request.post(`/api/helpdesk/desktops/${desktopId}/action`, { data: { action: 'reset', reason: 'me' } })).status()).toBe(403);

  // Helen finds her by display name.
  const helenContext = await browser.newContext();
  const helen = await helenContext.newPage();
  await signIn(helen, 'helen', floe.password);
  await helen.goto('/helpdesk');
  await helen.getByRole('searchbox', { name: 'Find a person' }).fill('martin');
  await helen.getByRole('button', { name: 'Search' }).click();
  await expect(helen).toHaveURL(/\/helpdesk\?q=martin$/);
  await expect(helen.getByRole('status')).toHaveText('1 found.');
  const result = helen.getByRole('row', { name: /Alice Martin/ });
  await expect(result).toContainText('alice');
  await expect(result.getByRole('cell').nth(3)).toHaveText('1'); // consoles open
  await helen.screenshot({ path: screenshotPath('helpdesk.png'), fullPage: true });
  await result.getByRole('link', { name: 'Alice Martin' }).click();

  // Her page: the desktop and the live console (from where, which browser, bytes).
  await expect(helen).toHaveURL(/\/helpdesk\/people\/alice$/);
  await expect(helen.getByRole('heading', { level: 1, name: 'Alice Martin' })).toBeVisible();
  const desktopRow = helen.getByRole('row', { name: 'Desktop Demo desktop' });
  await expect(desktopRow).toContainText('Running');
  await expect(desktopRow).toContainText(desktopId);
  await expect(desktopRow).toContainText(os.hostname());
  await expect(desktopRow).toContainText(/TCG|KVM/);
  await expect(desktopRow).toContainText(/\d+ (s|min)/);
  const liveRow = helen.getByRole('row', { name: 'Console of Alice Martin' });
  await expect(liveRow).toContainText('127.0.0.1');
  await expect(liveRow).toContainText(/Chrome \d+ on Linux/);
  await expect(liveRow).toContainText(/\d+(\.\d)? (KiB|MiB)/);
  await helen.screenshot({ path: screenshotPath('helpdesk-person.png'), fullPage: true });

  // The helpdesk's routes for a console of alice's desktop answer in the shapes of her own.
  const people = (await (await helen.request.get('/api/helpdesk/people?q=ALICE')).json()) as { people: { name: string; liveConsoles: number }[] };
  expect(people.people.map((p) => [p.name, p.liveConsoles])).toEqual([['alice', 1]]);
  const state = (await (await helen.request.get(`/api/helpdesk/desktops/${desktopId}`)).json()) as { desktop: { stage: string }; owner: { name: string } };
  expect([state.desktop.stage, state.owner.name]).toEqual(['ready', 'alice']);
  const open = (await (await helen.request.get(`/api/helpdesk/desktops/${desktopId}/consoles`)).json()) as { open: { id: string; mine: boolean }[] };
  expect(open.open.map((c) => c.mine)).toEqual([false]);
  // A console ticket only after saying why (the reason given on "open" is audited with it).
  expect((await helen.request.post(`/api/helpdesk/desktops/${desktopId}/console-ticket`)).status()).toBe(403);
  expect((await helen.request.post(`/api/helpdesk/desktops/${desktopId}/open`, { data: { reason: 'alice called: frozen screen' } })).status()).toBe(200);
  const ticket = await helen.request.post(`/api/helpdesk/desktops/${desktopId}/console-ticket`);
  expect(ticket.status()).toBe(200);
  expect(Object.keys((await ticket.json()) as object).sort()).toEqual(['expiresAt', 'password', 'path', 'sessionId']);

  // Disconnect: a reason is required; then alice's console closes and her window says so.
  await liveRow.getByRole('button', { name: 'Disconnect' }).click();
  const closing = helen.getByRole('dialog', { name: "Close Alice Martin's console?" });
  await closing.getByRole('button', { name: 'Disconnect' }).click();
  const reasonBox = closing.getByLabel(/Reason/);
  await expect(reasonBox).toHaveAttribute('aria-invalid', 'true');
  await expect(reasonBox).toHaveAccessibleDescription('Say why you are doing this (at least 3 characters).');
  await reasonBox.fill('Alice called: her screen froze (ticket 4711)');
  await closing.getByRole('button', { name: 'Disconnect' }).click();
  await expect(closing).toBeHidden();
  await expect(helen.getByRole('status', { name: 'Last action' })).toHaveText("Alice Martin's console was closed.");
  await expect(helen.getByRole('region', { name: 'Recent consoles' })).toContainText('closed by Helpdesk (Helen Okafor)');
  const ended = (await (await helen.request.get(`/api/helpdesk/desktops/${desktopId}/consoles/${open.open[0]!.id}`)).json()) as {
    session: { endReason: string; endedAt: number | null; takenOverBy: string | null };
  };
  expect(ended.session).toMatchObject({ endReason: 'closed-by-staff', takenOverBy: 'Helpdesk (Helen Okafor)' });
  expect(ended.session.endedAt).not.toBeNull();
  // Alice's window, whose console the server closed (close code 4001), says who closed it.
  await expect(alice.getByRole('alert').filter({ hasText: /helpdesk/i }), "alice's window says the helpdesk closed her console").toBeVisible({
    timeout: 15_000,
  });

  // Reset: the guest really boots again.
  const boots = bootsIn(serialLog);
  await desktopRow.getByRole('button', { name: 'Reset' }).click();
  const resetting = helen.getByRole('dialog', { name: "Reset Alice Martin's desktop?" });
  await resetting.getByLabel(/Reason/).fill('frozen after the disconnect');
  await resetting.getByRole('button', { name: 'Reset' }).click();
  await expect(resetting).toBeHidden();
  await expect(helen.getByRole('status', { name: 'Last action' })).toHaveText("Alice Martin's desktop was reset and is starting again.");
  await expect.poll(() => bootsIn(serialLog), { timeout: 90_000, message: 'the guest boots again' }).toBe(boots + 1);
  await expect(desktopRow).toContainText('Running', { timeout: 30_000 });

  // Open as helpdesk: the reason is recorded and helen goes to the helpdesk console page.
  await desktopRow.getByRole('button', { name: 'Open as helpdesk' }).click();
  const opening = helen.getByRole('dialog', { name: "Open Alice Martin's desktop as the helpdesk?" });
  await opening.getByLabel(/Reason/).fill('to look at the frozen program');
  await opening.getByRole('button', { name: 'Open as helpdesk' }).click();
  await expect(helen).toHaveURL(new RegExp(`/helpdesk/desktops/${desktopId}/console$`));
  await helenContext.close();

  // The admin finds all of it in the audit log, with helen's reasons.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin, 'admin', floe.password);
  await admin.goto('/admin/audit?who=helen');
  const table = admin.getByRole('table');
  for (const action of ['helpdesk console disconnect', 'helpdesk desktop reset', 'helpdesk desktop open', 'helpdesk console ticket', 'sign-in']) {
    await expect(table.getByRole('rowheader', { name: action, exact: true }).first()).toBeVisible();
  }
  await admin.getByLabel('Action').selectOption('helpdesk desktop reset');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await expect(admin).toHaveURL(/action=helpdesk\+desktop\+reset/);
  await expect(admin.getByRole('status', { name: 'Entries shown' })).toHaveText(/^1 entry · page 1 of 1/);
  const entry = table.getByRole('row', { name: /helpdesk desktop reset/ });
  await expect(entry).toContainText('helen');
  await expect(entry).toContainText(desktopId);
  await expect(entry).toContainText('reason: frozen after the disconnect');
  await expect(entry).toContainText('owner: alice');

  // A time range in the future matches nothing.
  await admin.goto('/admin/audit?from=2999-01-01T00:00');
  await expect(admin.getByRole('status', { name: 'Entries shown' })).toHaveText('No entry matches.');

  // CSV of what helen did, as a download.
  await admin.goto('/admin/audit?who=helen');
  const downloading = admin.waitForEvent('download');
  await admin.getByRole('link', { name: 'Download CSV' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^floe-audit-\d{8}-\d{4}\.csv$/);
  const csv = fs.readFileSync((await download.path())!, 'utf8');
  const lines = csv.trim().split('\r\n');
  expect(lines[0]).toBe('id,time (UTC),who,action,target,detail');
  expect(lines.slice(1).every((l) => l.split(',')[2] === 'helen')).toBe(true);
  expect(csv).toContain('Alice called: her screen froze (ticket 4711)');
  const exported = await admin.request.get('/api/admin/audit/export?who=helen');
  expect(exported.headers()['content-type']).toBe('text/csv; charset=utf-8');
  expect(exported.headers()['content-disposition']).toMatch(/^attachment; filename="floe-audit-/);
  await admin.screenshot({ path: screenshotPath('audit.png'), fullPage: true });

  await adminContext.close();
  await aliceContext.close();
});
