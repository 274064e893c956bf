/**
 * The idle policy as the person sees it, with short times: a pool that disconnects a console
 * after 15 s without input shows the countdown ("This desktop will be disconnected in 0:07")
 * in its last half, "Stay connected" starts the idle time again, and when it runs out the
 * console is disconnected and the session record ends. My desktops then shows the grace time
 * of the (stateless) desktop: "Discarded in 5 minutes unless you reopen it. Your changes will be
 * discarded." Runs on a Floe server of its own whose pools file holds that one pool.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base, expect } from '@playwright/test';
import { type TestFloe, startTestFloe, withDatabase } from './auth-fixtures';
import { screenshotPath, signIn } from './fixtures';

const IDLE_SECONDS = 15;

const test = base.extend<object, { floe: TestFloe }>({
  floe: [
    async ({}, use) => {
      const poolsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-e2e-idle-'));
      const poolsFile = path.join(poolsDir, 'pools.json');
      const quick = { name: 'quick', title: 'Quick desktop', kind: 'stateless', template: 'demo', spares: 0, graceMinutes: 5, idleMinutes: IDLE_SECONDS / 60 };
      fs.writeFileSync(poolsFile, JSON.stringify({ pools: [quick] }));
      const floe = await startTestFloe({ FLOE_POOLS_FILE: poolsFile });
      try {
        await use(floe);
      } finally {
        await floe.stop();
        fs.rmSync(poolsDir, { recursive: true, force: true });
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ floe }, use) => use(floe.url),
});

test('an idle console counts down, "Stay connected" keeps it, then it disconnects and My desktops shows the grace time', async ({ page, floe }) => {
  test.setTimeout(300_000);
  await signIn(page, 'alice', floe.password);
  const card = page.getByRole('listitem', { name: 'Quick desktop' });
  await expect(card).toContainText('your changes are discarded');
  await card.getByRole('button', { name: 'Open desktop' }).click();
  await expect(page.getByRole('status', { name: 'Console connection' })).toHaveText('Connected', { timeout: 200_000 });

  // No input: the countdown comes in the last half of the idle time, and takes the focus.
  const warning = page.getByRole('alertdialog', { name: 'Are you still there?' });
  await expect(warning).toBeVisible({ timeout: IDLE_SECONDS * 1000 });
  await expect(warning).toContainText(/This desktop will be disconnected in 0:0\d/);
  await expect(warning).toContainText('your changes will be discarded');
  await page.screenshot({ path: screenshotPath('idle-countdown.png') });
  const stay = warning.getByRole('button', { name: 'Stay connected' });
  await expect(stay).toBeFocused();
  await stay.click();
  const stayedAt = Date.now();
  await expect(warning).toBeHidden();
  await expect(page.getByRole('application', { name: 'Desktop screen' })).toBeFocused();

  // The idle time started again: the countdown comes back only after its first half.
  await expect(warning).toBeVisible({ timeout: IDLE_SECONDS * 1000 });
  expect(Date.now() - stayedAt).toBeGreaterThanOrEqual((IDLE_SECONDS / 2) * 1000 - 500);

  // Left alone, the console disconnects and says why.
  await expect(page.getByRole('heading', { name: 'Disconnected' })).toBeVisible({ timeout: IDLE_SECONDS * 1000 });
  await expect(page.getByText('Disconnected after 15 seconds without input')).toBeVisible();
  await expect(page.getByRole('status', { name: 'Console connection' })).toHaveText('Disconnected');
  await expect
    .poll(() => withDatabase(floe, (db) => db.prepare('SELECT count(*) AS n FROM console_sessions WHERE ended_at IS NULL').get() as { n: number }).n)
    .toBe(0);

  // My desktops: the grace time before the stateless desktop is discarded.
  await page.getByRole('link', { name: /My desktops/ }).click();
  await expect(card).toContainText('Discarded in 5 minutes unless you reopen it. Your changes will be discarded.');
  await page.screenshot({ path: screenshotPath('my-desktops-grace.png') });
});
