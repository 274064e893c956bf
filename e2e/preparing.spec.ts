/**
 * The demo's Desktop pool while its template is being built (`npm run demo` on a new machine):
 * My desktops and the admin pool page show it as being prepared, with a progress bar and the
 * build's step in words that follow the build by themselves, while the busybox pools already
 * serve; a build that fails says the desktop is not available. The build here is a stand-in
 * (e2e/stand-in-template-build.sh, through FLOE_DESKTOP_TEMPLATE_SCRIPT) with the real script's
 * progress lines: the real one takes minutes and needs Debian's mirrors.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '@playwright/test';
import { repoRoot } from '../scripts/floe-process';
import { type StartedFloe, cleanUpDataDir, expect, screenshotPath, signIn, startFloe, stopFloe } from './fixtures';

test('the Desktop pool shows its preparation with progress, then that it could not be prepared', async ({ browser }) => {
  test.setTimeout(120_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-e2e-preparing-'));
  const password = randomBytes(12).toString('base64url');
  let floe: StartedFloe | undefined;
  try {
    floe = await startFloe(dataDir, password, {
      env: {
        FLOE_DESKTOP_TEMPLATE: '1',
        FLOE_DESKTOP_TEMPLATE_SCRIPT: path.join(repoRoot, 'e2e', 'stand-in-template-build.sh'),
        STAND_IN_STEP_SECONDS: '4',
      },
    });
    const context = await browser.newContext({ baseURL: floe.url });
    const page = await context.newPage();
    await signIn(page, 'alice', password);

    // My desktops: the busybox pools can be opened now; the Desktop pool is being prepared.
    const preparing = page.getByRole('list', { name: 'Desktops being prepared' }).getByRole('listitem', { name: 'Desktop' });
    await expect(preparing).toContainText('Preparing…');
    await expect(page.getByRole('listitem', { name: 'Demo desktop' }).getByRole('button', { name: 'Open desktop' })).toBeEnabled();
    const bar = preparing.getByRole('progressbar', { name: 'Preparing Desktop' });
    await expect(bar).toHaveAttribute('max', '6');
    // The page follows the build by itself (no reload here): the step in words and the bar move on.
    await expect(preparing.getByRole('status')).toContainText(/Step [1-3] of 6 · (host tools|mmdebstrap: 33 packages|configuring)/);
    await expect(preparing.getByRole('status')).toContainText('Step 4 of 6', { timeout: 30_000 });
    await expect(bar).toHaveAttribute('value', '4');
    await page.screenshot({ path: screenshotPath('desktop-preparing.png'), fullPage: true });

    // The admin pool page shows it beside the pools.
    const admin = await browser.newContext({ baseURL: floe.url });
    const adminPage = await admin.newPage();
    await signIn(adminPage, 'admin', password);
    await adminPage.goto('/admin/pools');
    const adminCard = adminPage.getByRole('region', { name: 'Pools' }).getByRole('listitem', { name: 'Desktop' });
    await expect(adminCard.getByRole('progressbar', { name: 'Preparing Desktop' })).toBeVisible();

    // The build fails at its end: both pages say the desktop is not available, and no pool appears.
    await expect(preparing).toContainText('Not available', { timeout: 30_000 });
    await expect(preparing).toContainText('could not be prepared');
    await expect(bar).toBeHidden();
    await expect(adminCard).toContainText('Not available', { timeout: 10_000 });
    await expect(adminPage.getByRole('row', { name: 'Pool demo', exact: true })).toBeVisible();
    await expect(adminPage.getByRole('row', { name: 'Pool desktop', exact: true })).toHaveCount(0);
    expect(floe.output()).toContain('no Debian mirror answered');
    await admin.close();
    await context.close();
  } finally {
    if (floe) await stopFloe(floe);
    await cleanUpDataDir(dataDir);
  }
});
