/**
 * Sign-in through an OpenID Connect provider, for real: the test starts a small OIDC issuer on
 * loopback (the `oidc-provider` package, its built-in login and consent pages, accounts with
 * groups) and a Floe server configured for it. In the browser, "Sign in with Test IdP" goes
 * through the authorization code flow (state, PKCE, nonce) and back; the groups claim becomes
 * the Floe role; people outside the allowed groups and disabled users are refused with words.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from '@playwright/test';
import Provider from 'oidc-provider';
import { type TestFloe, expect, startTestFloe, userCommand } from './auth-fixtures';
import { test } from '@playwright/test';

const PEOPLE: Record<string, { name: string; groups: string[] }> = {
  hana: { name: 'Hana Ito', groups: ['staff', 'helpdesk'] },
  omar: { name: 'Omar Haddad', groups: ['/floe-admins'] },
  pia: { name: 'Pia Lund', groups: ['staff'] },
  vera: { name: 'Vera Novak', groups: ['visitors'] },
};

let idp: http.Server;
let floe: TestFloe;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  let handle: http.RequestListener = (_req, res) => res.writeHead(503).end();
  idp = http.createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const secret = 'test-client-secret-0123456789';
  floe = await startTestFloe({
    FLOE_OIDC_ISSUER: issuer,
    FLOE_OIDC_CLIENT_ID: 'floe',
    FLOE_OIDC_CLIENT_SECRET: secret,
    FLOE_OIDC_NAME: 'Test IdP',
    FLOE_OIDC_ADMIN_GROUPS: 'floe-admins',
    FLOE_OIDC_HELPDESK_GROUPS: 'helpdesk',
    FLOE_OIDC_USER_GROUPS: 'staff',
  });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'floe',
        client_secret: secret,
        redirect_uris: [`${floe.url}/api/auth/callback/oidc`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'] },
    // The groups claim reaches Floe through the userinfo endpoint (conformIdTokenClaims).
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: `sub-${id}`, preferred_username: id, name: PEOPLE[id]?.name ?? id, groups: PEOPLE[id]?.groups ?? [] }),
    }),
    cookies: { keys: ['test-cookie-key-0123456789'] },
    features: { devInteractions: { enabled: true } },
  });
  handle = provider.callback();
});

test.afterAll(async () => {
  await floe?.stop();
  await new Promise((resolve) => idp?.close(resolve));
});

/** Signs in as `login` through the Test IdP in a fresh browser; returns the page where Floe left them. */
async function signInThroughIdp(browser: Browser, login: string) {
  const context = await browser.newContext({ baseURL: floe.url });
  // The provider's pages import a web font; the tests run offline.
  await context.route(/^https:\/\/fonts\.(googleapis|gstatic)\.com\//, (route) => route.abort());
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
  // The provider's own pages: any login name, then consent.
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((url) => url.origin === floe.url);
  return { context, page };
}

test('the groups claim becomes the Floe role; the user is made on first sign-in', async ({ browser }) => {
  for (const [login, role, displayName] of [
    ['hana', 'helpdesk', 'Hana Ito'],
    ['omar', 'admin', 'Omar Haddad'],
    ['pia', 'user', 'Pia Lund'],
  ] as const) {
    const { context, page } = await signInThroughIdp(browser, login);
    await expect(page.getByRole('heading', { name: /My desktops?/ })).toBeVisible();
    await expect(page.getByRole('banner')).toContainText(`Signed in as ${displayName}`);
    const me = await context.request.get('/api/me');
    expect(await me.json()).toEqual({ user: { name: login, displayName, role } });
    await context.close();
  }
  const list = await userCommand(floe, ['list']);
  expect(list.stdout).toMatch(/hana\s+helpdesk\s+enabled\s+oidc/);
  expect(list.stdout).toMatch(/omar\s+admin\s+enabled\s+oidc/);
  expect(list.stdout).toMatch(/alice\s+user\s+enabled\s+password/);
});

test('people outside the allowed groups, and disabled users, are refused with words', async ({ browser }) => {
  const vera = await signInThroughIdp(browser, 'vera');
  await expect(vera.page).toHaveURL(/\/login\?error=OidcNotAllowed/);
  await expect(vera.page.getByRole('alert').filter({ hasText: /\S/ })).toHaveText('Your account may not use Floe. Please ask the helpdesk to give you access.');
  expect((await vera.context.request.get('/api/me')).status()).toBe(401);
  await vera.context.close();

  const first = await signInThroughIdp(browser, 'pia');
  await expect(first.page.getByRole('heading', { name: /My desktops?/ })).toBeVisible();
  expect((await userCommand(floe, ['disable', 'pia'])).stdout).toMatch(/^Disabled pia; ended [12] sign-in sessions?\.$/m);
  expect((await first.context.request.get('/api/me')).status(), 'the open session ended').toBe(401);
  await first.context.close();

  const again = await signInThroughIdp(browser, 'pia');
  await expect(again.page).toHaveURL(/\/login\?error=AccountDisabled/);
  await expect(again.page.getByRole('alert').filter({ hasText: /\S/ })).toHaveText('This account is disabled. Please ask the helpdesk.');
  await again.context.close();
});
