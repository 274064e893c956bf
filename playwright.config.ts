/**
 * Browser end-to-end tests: Playwright driving Debian's Chromium (/usr/bin/chromium, installed
 * by scripts/setup.sh; never `npx playwright install`) against the real Floe server and real
 * QEMU desktops. Each worker starts its own server on port 0 (see e2e/fixtures.ts). In CI a
 * left-over test.only fails the run. FLOE_E2E_DIR runs another folder of specs (scripts/test.sh
 * runs a copy of e2e/ named to run in reverse order). Browsers ask for English (en-US), so specs
 * that select by English names pass on a machine set to another language; e2e/i18n.spec.ts opens
 * contexts of its own in German.
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: process.env.FLOE_E2E_DIR || 'e2e',
  forbidOnly: !!process.env.CI,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 240_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    headless: true,
    locale: 'en-US',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
