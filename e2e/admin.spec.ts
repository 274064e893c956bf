/**
 * The admin pool page for real: only admins reach it; an admin creates a pool with a bad value
 * and sees the error beside the field, then a good one (stateless, template "demo", one spare)
 * and watches its spare boot (a real QEMU VM) on the live page without a reload, with the
 * desktop's CPU and memory use; resizes it, is told a pool with desktops cannot be deleted,
 * drains it, recycles the spare and deletes the pool. The host panel's KSM switch and scan
 * rate change /sys/kernel/mm/ksm (read back there) and the page (the refusal on a host that
 * does not allow it is server/host/ksm.test.ts's). The Prometheus scrape is read and parsed as an admin sees it.
 * Takes the picture docs/admin-pools.png (see screenshotPath).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KSM_DIR } from '../server/host/ksm';
import { expect, screenshotPath, signIn, test } from './fixtures';

const POOL = 'kiosk-e2e';

/** Prometheus text exposition → "name{labels}" → value; throws on a line that is not a sample. */
function parsePrometheus(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    series.set(match[1]!, Number(match[2]));
  }
  return series;
}

test('only admins reach the pool page, its data and the audit log', async ({ browser, floe }) => {
  for (const name of ['bob', 'helen']) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, name, floe.password);
    expect((await page.goto('/admin/pools'))?.status(), `${name} gets 403 for the pool page`).toBe(403);
    expect((await page.goto('/admin/audit'))?.status(), `${name} gets 403 for the audit page`).toBe(403);
    expect((await page.request.get('/api/admin/overview')).status()).toBe(403);
    expect((await page.request.get('/api/admin/audit/export')).status()).toBe(403);
    expect((await page.request.post('/api/admin/host/ksm', { data: { running: true } })).status()).toBe(403);
    expect((await page.request.get('/metrics')).status()).toBe(403);
    await context.close();
  }
  const anonymous = await fetch(`${floe.url}/api/admin/overview`);
  expect(anonymous.status).toBe(401);
});

test('an admin creates a pool (a bad value first), watches its spare boot live, then drains, recycles and deletes it', async ({ page, floe }) => {
  await signIn(page, 'admin', floe.password);
  await page.goto('/admin/pools');
  await expect(page.getByRole('heading', { name: 'Pools and desktops' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Pools' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('row', { name: 'Pool demo', exact: true })).toBeVisible();
  // Proves later that the page was never reloaded.
  await page.evaluate(() => Object.assign(window, { floeSamePage: true }));

  await page.getByRole('button', { name: 'New pool' }).click();
  const form = page.getByRole('dialog', { name: 'New pool' });
  await form.getByLabel('Name (id)').fill(POOL);
  await form.getByLabel('Title', { exact: true }).fill('Kiosk (test)');
  await form.getByLabel('Kind', { exact: true }).selectOption('stateless');
  await form.getByLabel('Template', { exact: true }).selectOption('demo');
  await form.getByLabel('Spares kept ready').fill('1');
  const maxSize = form.getByLabel('Most desktops (max size)');
  await maxSize.fill('0');
  await form.getByRole('button', { name: 'Create pool' }).click();
  await expect(maxSize).toHaveAttribute('aria-invalid', 'true');
  await expect(maxSize).toHaveAccessibleDescription('Max size must be at least 1');
  await expect(form.getByRole('alert')).toHaveText('Please correct the field marked below.');
  await expect(form.getByLabel('Spares kept ready')).not.toHaveAttribute('aria-invalid', 'true');
  await maxSize.fill('2');
  await form.getByRole('button', { name: 'Create pool' }).click();
  await expect(form).toBeHidden();
  await expect(page.getByRole('status', { name: 'Last action' })).toHaveText('Pool “Kiosk (test)” was created.');

  // The reconcile loop boots the spare; the page shows it without a reload.
  const poolRow = page.getByRole('row', { name: `Pool ${POOL}` });
  await expect(poolRow).toBeVisible();
  await expect(poolRow.getByRole('cell', { name: 'Spares ready' })).toHaveText(/^1 of 1 wanted/, { timeout: 120_000 });
  await expect(poolRow).toContainText('1 / 2');
  expect(await page.evaluate(() => (window as unknown as { floeSamePage?: boolean }).floeSamePage)).toBe(true);

  // Its desktop, filtered to the pool: state, CPU (after two readings) and memory from /proc, port, accelerator, host.
  await poolRow.getByRole('button', { name: 'Kiosk (test)' }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/pools\\?pool=${POOL}$`));
  await expect(page.getByRole('status', { name: 'Desktops shown' })).toHaveText('1 desktop · page 1 of 1');
  const desktopRow = page.getByRole('row', { name: new RegExp(`^Desktop ${POOL}-`) });
  await expect(desktopRow).toContainText('Ready (spare)');
  await expect(desktopRow).toContainText(/\d+ % ?of 1 vCPU/);
  await expect(desktopRow).toContainText(/\d+ MiB ?of 256 MiB/);
  await expect(desktopRow).toContainText(/TCG|KVM/);
  await expect(desktopRow).toContainText(os.hostname());
  const spareId = (await desktopRow.getByRole('rowheader').textContent())!.trim();
  const [vm] = (await floe.hypervisor.list()).filter((v) => v.id === spareId);
  expect(vm, 'the spare is a running QEMU process').toBeDefined();
  await expect(desktopRow).toContainText(String(vm!.spicePort));

  // The host panel, as an admin sees it.
  const hostPanel = page.getByRole('region', { name: `Host ${os.hostname()}` });
  await expect(hostPanel).toContainText('CPUs');
  await expect(hostPanel).toContainText('Memory saved');
  await page.screenshot({ path: screenshotPath('admin-pools.png'), fullPage: true });

  // The metrics, scraped as this admin and parsed.
  const scrape = await page.request.get('/metrics');
  expect(scrape.status()).toBe(200);
  expect(scrape.headers()['content-type']).toMatch(/^text\/plain/);
  const series = parsePrometheus(await scrape.text());
  expect(series.get(`floe_desktops{pool="${POOL}",state="ready"}`)).toBe(1);
  expect(series.get(`floe_boot_duration_seconds_count{pool="${POOL}"}`)).toBeGreaterThanOrEqual(1);
  expect(series.get('floe_console_sessions_active')).toBeGreaterThanOrEqual(0);
  expect(series.has('floe_ksm_pages_sharing')).toBe(true);
  expect(series.has('floe_console_bytes_total{direction="to_browser"}')).toBe(true);
  expect((await fetch(`${floe.url}/metrics`)).status, 'no token, not signed in').toBe(401);

  // Resize: max size 2 → 3.
  await poolRow.getByRole('button', { name: 'Resize' }).click();
  const resize = page.getByRole('dialog', { name: 'Resize “Kiosk (test)”' });
  await expect(resize.getByLabel('Title', { exact: true })).toHaveCount(0);
  await resize.getByLabel('Most desktops (max size)').fill('3');
  await resize.getByRole('button', { name: 'Save' }).click();
  await expect(resize).toBeHidden();
  await expect(poolRow).toContainText('1 / 3');

  // A pool with a desktop cannot be deleted: the dialog says why.
  await poolRow.getByRole('button', { name: 'Delete' }).click();
  const deleting = page.getByRole('dialog', { name: 'Delete “Kiosk (test)”?' });
  await deleting.getByLabel(/Reason/).fill('end of the kiosk test');
  await deleting.getByRole('button', { name: 'Delete pool' }).click();
  await expect(deleting.getByRole('alert')).toHaveText(/still has 1 desktop/);
  await deleting.getByRole('button', { name: 'Cancel' }).click();

  // Drain (no new spares), recycle the spare, then delete the empty pool.
  await poolRow.getByRole('button', { name: 'Drain' }).click();
  const draining = page.getByRole('dialog', { name: 'Drain “Kiosk (test)”?' });
  await draining.getByLabel(/Reason/).fill('retiring the kiosk');
  await draining.getByRole('button', { name: 'Drain' }).click();
  await expect(poolRow).toContainText('Draining');
  await expect(poolRow.getByRole('button', { name: 'Open again' })).toBeVisible();

  await desktopRow.getByRole('button', { name: 'Recycle' }).click();
  const recycling = page.getByRole('dialog', { name: `Recycle desktop ${spareId}?` });
  await recycling.getByLabel(/Reason/).fill('no longer needed');
  await recycling.getByRole('button', { name: 'Recycle' }).click();
  await expect(page.getByRole('status', { name: 'Last action' })).toHaveText(`Desktop ${spareId} was recycled.`);
  await expect(page.getByRole('status', { name: 'Desktops shown' })).toHaveText('No desktop matches.');
  await expect(poolRow).toContainText('0 / 3');
  await expect.poll(async () => (await floe.hypervisor.list()).some((v) => v.id === spareId), { message: 'the VM is gone' }).toBe(false);

  await poolRow.getByRole('button', { name: 'Delete' }).click();
  await deleting.getByLabel(/Reason/).fill('end of the kiosk test');
  await deleting.getByRole('button', { name: 'Delete pool' }).click();
  await expect(poolRow).toHaveCount(0);
  await expect(page.getByRole('status', { name: 'Last action' })).toHaveText('Pool “Kiosk (test)” was deleted.');

  // Every step is in the audit log, with the reasons.
  const audit = await (await page.request.get(`/api/admin/audit/export?target=${POOL}`)).text();
  for (const line of ['pool create', 'pool update', 'pool drain', 'desktop recycle', 'pool delete']) expect(audit).toContain(line);
  expect(audit).toContain('retiring the kiosk');
  expect(audit).toContain('no longer needed');
});

test('the KSM switch turns merging on and off in /sys and on the page', async ({ page, floe }) => {
  // These hosts let the test (root) write /sys/kernel/mm/ksm; the refusal path is ksm.test.ts's.
  let writable = true;
  try {
    fs.accessSync(path.join(KSM_DIR, 'run'), fs.constants.W_OK);
  } catch {
    writable = false;
  }
  test.skip(!writable, `${KSM_DIR}/run is not writable on this host`);
  const runInSys = () => fs.readFileSync(path.join(KSM_DIR, 'run'), 'utf8').trim();
  const pagesInSys = () => Number(fs.readFileSync(path.join(KSM_DIR, 'pages_to_scan'), 'utf8').trim());
  await signIn(page, 'admin', floe.password);
  const before = ((await (await page.request.get('/api/admin/overview')).json()) as { host: { ksm: { available: boolean; running: boolean; pagesToScan: number } } }).host
    .ksm;
  expect(before.available).toBe(true);
  expect(before.running, 'the page reads what /sys says').toBe(runInSys() === '1');
  await page.goto('/admin/pools');
  const ksmSwitch = page.getByRole('switch', { name: 'Merge identical memory (KSM)' });
  await expect(ksmSwitch).toHaveAttribute('aria-checked', String(before.running));
  await page.getByLabel('Reason (optional, for the audit log)').fill('KSM test');
  try {
    await ksmSwitch.click();
    await expect(page.getByRole('status', { name: 'Last action' })).toHaveText(`KSM is ${before.running ? 'off' : 'on'}.`);
    await expect(ksmSwitch).toHaveAttribute('aria-checked', String(!before.running));
    expect(runInSys(), 'the kernel got the change').toBe(before.running ? '0' : '1');
    // The scan rate, set one higher in /sys, then back to what it was (harmless on a shared host).
    await page.getByLabel('Pages to scan per wake-up').fill(String(before.pagesToScan + 1));
    await page.getByRole('button', { name: 'Set scan rate' }).click();
    await expect(page.getByRole('status', { name: 'Last action' })).toHaveText(`KSM now scans ${before.pagesToScan + 1} pages per wake-up.`);
    expect(pagesInSys()).toBe(before.pagesToScan + 1);
    await page.getByLabel('Pages to scan per wake-up').fill(String(before.pagesToScan));
    await page.getByRole('button', { name: 'Set scan rate' }).click();
    await expect(page.getByRole('status', { name: 'Last action' })).toHaveText(`KSM now scans ${before.pagesToScan} pages per wake-up.`);
    expect(pagesInSys()).toBe(before.pagesToScan);
    await ksmSwitch.click();
    await expect(ksmSwitch).toHaveAttribute('aria-checked', String(before.running));
    expect(runInSys(), 'KSM is back as it was').toBe(before.running ? '1' : '0');
  } finally {
    // Whatever failed above, the host's KSM is left as it was.
    fs.writeFileSync(path.join(KSM_DIR, 'run'), before.running ? '1\n' : '0\n');
    fs.writeFileSync(path.join(KSM_DIR, 'pages_to_scan'), `${before.pagesToScan}\n`);
  }
  const audit = await (await page.request.get('/api/admin/audit/export?action=ksm%20change')).text();
  expect(audit.trim().split('\r\n')).toHaveLength(5);
  expect(audit).toContain('KSM test');
});
