/**
 * Sign-in and sessions against the real server (its own, see auth-fixtures.ts; no VM boots):
 * security headers on pages, API answers and files; the session cookie's flags; throttling
 * shown on the sign-in form and lifted by the CLI; sign-out ending the session for every copy
 * of the cookie; idle and expired sessions; a disabled account refused and its open session
 * ended; and cross-site writes refused before any handler runs.
 */
import { apiSignIn, expect, test, userCommand, withDatabase } from './auth-fixtures';

test('pages, API answers and files carry the security headers; every page gets its own nonce', async ({ request }) => {
  const nonces: string[] = [];
  for (let i = 0; i < 2; i++) {
    const page = await request.get('/login');
    expect(page.status()).toBe(200);
    const headers = page.headers();
    const csp = headers['content-security-policy'] ?? '';
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce, csp).toBeTruthy();
    nonces.push(nonce!);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("media-src 'self' blob:");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'(;|$)/);
    expect(csp).not.toContain('unsafe-eval');
    expect(csp.match(/script-src[^;]*/)?.[0]).not.toContain('unsafe-inline');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('same-origin');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-powered-by']).toBeUndefined();
    // Every script in the page carries the nonce.
    const html = await page.text();
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
  }
  expect(nonces[0]).not.toBe(nonces[1]);

  const api = await request.get('/api/me');
  expect(api.status()).toBe(401);
  expect(api.headers()['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  expect(api.headers()['x-content-type-options']).toBe('nosniff');

  const script = /<script src="(\/_next\/static\/[^"]+\.js)"/.exec(await (await request.get('/login')).text())?.[1];
  const file = await request.get(script!);
  expect(file.status()).toBe(200);
  expect(file.headers()['x-content-type-options']).toBe('nosniff');
  expect(file.headers()['content-security-policy']).toContain("default-src 'none'");
});

test('the session cookie is HttpOnly and SameSite=Lax (not Secure over plain HTTP)', async ({ playwright, floe }) => {
  const request = await playwright.request.newContext({ baseURL: floe.url });
  const csrf = (await (await request.get('/api/auth/csrf')).json()) as { csrfToken: string };
  const response = await request.post('/api/auth/callback/credentials', {
    form: { csrfToken: csrf.csrfToken, username: 'bob', password: floe.password, json: 'true' },
  });
  const cookie = response.headersArray().find((h) => h.name.toLowerCase() === 'set-cookie' && h.value.startsWith('next-auth.session-token='));
  expect(cookie?.value).toMatch(/; HttpOnly/);
  expect(cookie?.value).toMatch(/; SameSite=Lax/);
  expect(cookie?.value).not.toMatch(/; Secure/);
  const expires = Date.parse(/Expires=([^;]+)/.exec(cookie!.value)![1]!);
  expect(Math.abs(expires - (Date.now() + 12 * 3600_000))).toBeLessThan(120_000);
  await request.dispose();
});

test('failed sign-ins lock the account with a clear message; the CLI lifts the lock', async ({ page, floe }) => {
  expect((await userCommand(floe, ['add', 'kim', '--password-stdin'], 'kim-password-1\n')).code).toBe(0);
  await page.goto('/login');
  const alert = page.getByRole('alert').filter({ hasText: /\S/ });
  const attempt = async (password: string) => {
    await page.getByLabel('User name').fill('kim');
    await page.getByLabel('Password').fill(password);
    const answered = page.waitForResponse((r) => r.url().includes('/api/auth/callback/credentials'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await answered;
  };
  await attempt('wrong-1');
  await expect(alert).toHaveText('Wrong user name or password.');
  await attempt('wrong-2');
  await expect(alert).toHaveText('Wrong user name or password.');
  await attempt('wrong-3');
  await expect(alert).toHaveText('Too many failed sign-ins for this account. Try again in 15 minutes.');
  // Locked: the right password is refused too, and says so.
  await attempt('kim-password-1');
  await expect(alert).toHaveText('Too many failed sign-ins for this account. Try again in 15 minutes.');
  await expect(page).toHaveURL(/\/login/);

  const audit = withDatabase(floe, (db) => db.prepare("select action from audit_log where target = 'kim' order by id").all() as { action: string }[]);
  expect(audit.map((a) => a.action)).toEqual(['user added', 'sign-in failed', 'sign-in failed', 'sign-in failed', 'sign-in locked']);

  // Another account from the same address is not locked.
  expect((await apiSignIn(page.context().request, 'helen', floe.password)).error).toBeNull();

  const unlock = await userCommand(floe, ['unlock', 'kim']);
  expect(unlock.stdout.trim()).toBe('Forgot the failed sign-ins of kim; they may sign in again.');
  await page.context().clearCookies();
  await attempt('kim-password-1');
  await expect(page.getByRole('heading', { name: /My desktops?/ })).toBeVisible();
});

test('sign-out ends the session, also for a copy of the cookie', async ({ page, browser, floe }) => {
  await page.goto('/login');
  await page.getByLabel('User name').fill('helen');
  await page.getByLabel('Password').fill(floe.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: /My desktops?/ })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('Signed in as Helen Okafor');
  await expect(page.getByRole('banner')).toContainText('Helpdesk');
  const copied = await page.context().cookies();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('heading', { name: 'Sign in to Floe' })).toBeVisible();

  const thief = await browser.newContext({ baseURL: floe.url });
  await thief.addCookies(copied);
  expect((await thief.request.get('/api/me')).status()).toBe(401);
  const desktops = await thief.newPage();
  await desktops.goto('/desktops');
  await expect(desktops).toHaveURL(/\/login\?callbackUrl=%2Fdesktops$/);
  await thief.close();
  const reasons = withDatabase(floe, (db) =>
    db.prepare("select end_reason from sign_in_sessions s join users u on u.id = s.user_id where u.name = 'helen' and ended_at is not null").all(),
  );
  expect(reasons).toContainEqual({ end_reason: 'signed out' });
});

test('a session unused for the idle timeout, or past its lifetime, stops working', async ({ playwright, floe }) => {
  for (const [column, expected] of [
    ['last_seen_at', 'idle'],
    ['expires_at', 'expired'],
  ] as const) {
    const request = await playwright.request.newContext({ baseURL: floe.url, maxRedirects: 0 });
    expect((await apiSignIn(request, 'bob', floe.password)).error).toBeNull();
    expect((await request.get('/api/me')).status()).toBe(200);
    // Move this session's clock back instead of waiting: unused for 61 minutes / expired a minute ago.
    withDatabase(floe, (db) => {
      const open = db.prepare("select s.id from sign_in_sessions s join users u on u.id = s.user_id where u.name = 'bob' and ended_at is null").all() as { id: string }[];
      const value = column === 'last_seen_at' ? Date.now() - 61 * 60_000 : Date.now() - 60_000;
      for (const row of open) db.prepare(`update sign_in_sessions set ${column} = ? where id = ?`).run(value, row.id);
    });
    const me = await request.get('/api/me');
    expect(me.status(), expected).toBe(401);
    expect(await me.json()).toEqual({ error: 'Please sign in.' });
    const page = await request.get('/desktops');
    expect(page.status()).toBe(307);
    expect(page.headers().location).toMatch(/\/login\?callbackUrl=%2Fdesktops$/);
    const ended = withDatabase(floe, (db) => db.prepare('select end_reason from sign_in_sessions order by ended_at desc limit 1').get());
    expect(ended).toEqual({ end_reason: expected });
    await request.dispose();
  }
});

test('a disabled account cannot sign in, and its open session stops at once', async ({ page, playwright, floe }) => {
  expect((await userCommand(floe, ['add', 'jay', '--password-stdin'], 'jay-password-1\n')).code).toBe(0);
  const jay = await playwright.request.newContext({ baseURL: floe.url });
  expect((await apiSignIn(jay, 'jay', 'jay-password-1')).error).toBeNull();
  expect((await jay.get('/api/me')).status()).toBe(200);

  const disable = await userCommand(floe, ['disable', 'jay']);
  expect(disable.stdout.trim()).toBe('Disabled jay; ended 1 sign-in session.');
  expect((await jay.get('/api/me')).status()).toBe(401);

  await page.goto('/login');
  await page.getByLabel('User name').fill('jay');
  await page.getByLabel('Password').fill('jay-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /\S/ })).toHaveText('This account is disabled. Please ask the helpdesk.');

  expect((await userCommand(floe, ['enable', 'jay'])).code).toBe(0);
  expect((await apiSignIn(jay, 'jay', 'jay-password-1')).error).toBeNull();
  expect((await jay.get('/api/me')).status()).toBe(200);
  await jay.dispose();
});

test('requests that change something are refused when another site sends them', async ({ playwright, floe }) => {
  const bob = await playwright.request.newContext({ baseURL: floe.url });
  expect((await apiSignIn(bob, 'bob', floe.password)).error).toBeNull();
  for (const [method, path] of [
    ['POST', '/api/desktops'],
    ['POST', '/api/desktops/x/console-ticket'],
    ['POST', '/api/auth/signout'],
    ['DELETE', '/api/admin/pools/demo'],
  ] as const) {
    const response = await bob.fetch(path, { method, headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, data: '{"pool":"demo"}' });
    expect(response.status(), `${method} ${path}`).toBe(403);
    expect(await response.json()).toEqual({ error: 'This request came from another site and was refused.' });
  }
  // The same request from Floe's own pages goes through to the handler.
  const own = await bob.post('/api/desktops', { headers: { origin: floe.url }, data: { pool: 'no-such-pool' } });
  expect(own.status()).toBe(404);
  expect((await bob.get('/api/me')).status(), 'still signed in: the cross-site sign-out was refused').toBe(200);
  await bob.dispose();
});
