/**
 * The authorization matrix, against the real server: every route handler and page, asked by
 * each of anonymous, alice and bob (users), helen (helpdesk) and admin, answers exactly what it
 * should. Alice owns the one desktop (the only VM this spec boots); nobody else can list it,
 * see it, open its page, power it or get a console ticket for it (404, as for a desktop that
 * does not exist). Then the console's WebSocket: refused from another origin; and alice, sent
 * to sign in from her desktop's address, comes back to it and sees her screen drawn by
 * spice-html5 under the Content-Security-Policy without a single violation.
 *
 * A second test finds every page and route handler in app/ by itself (so a new one cannot be
 * forgotten) and checks the rule for its area: /admin, /api/admin and /metrics are for admins,
 * /helpdesk and /api/helpdesk for helpdesk and admins, everything else for anyone signed in;
 * only the sign-in page and next-auth's endpoints are open to anonymous visitors.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { APIRequestContext, APIResponse } from '@playwright/test';
import WebSocket from 'ws';
import { apiSignIn, expect, test } from './auth-fixtures';

/**
 * Asks for a console ticket. Tickets are limited per person per minute, and other specs on the
 * shared server (the security check proves the 429) may have used up alice's minute: then this
 * waits for the next minute once, so the matrix checks the role rule, not the order of specs.
 */
async function consoleTicket(request: APIRequestContext, desktopId: string): Promise<APIResponse> {
  const response = await request.post(`/api/desktops/${desktopId}/console-ticket`);
  if (response.status() !== 429) return response;
  await new Promise((resolve) => setTimeout(resolve, 61_000));
  return request.post(`/api/desktops/${desktopId}/console-ticket`);
}

type Who = 'anonymous' | 'alice' | 'bob' | 'helen' | 'admin';
const EVERYONE: Who[] = ['anonymous', 'alice', 'bob', 'helen', 'admin'];
const ROLE: Record<Exclude<Who, 'anonymous'>, string> = { alice: 'user', bob: 'user', helen: 'helpdesk', admin: 'admin' };

/** Expected status per person; '-' means "not asked" (it would change something we keep). */
type Row = { what: string; call: (r: APIRequestContext) => Promise<APIResponse>; expect: Record<Who, number | '-'>; location?: Partial<Record<Who, RegExp>> };

const all = (status: number, others: Partial<Record<Who, number | '-'>> = {}): Record<Who, number | '-'> => ({
  anonymous: status,
  alice: status,
  bob: status,
  helen: status,
  admin: status,
  ...others,
});

/** Opens a console WebSocket (with `origin` and `cookie` headers when given); the HTTP status, 101 when it opened. */
function upgradeStatus(url: string, origin: string | undefined, cookie?: string): Promise<number> {
  return new Promise<number>((resolve) => {
    const socket = new WebSocket(url, 'binary', { ...(origin ? { origin } : {}), ...(cookie ? { headers: { cookie } } : {}) });
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.terminate();
    });
    socket.on('error', () => resolve(-1));
  });
}

test('every route and page answers each role exactly as it should; only alice reaches her desktop', async ({ playwright, floe, browser }) => {
  test.setTimeout(300_000);
  const contexts = {} as Record<Who, APIRequestContext>;
  for (const who of EVERYONE) {
    contexts[who] = await playwright.request.newContext({ baseURL: floe.url, maxRedirects: 0 });
    if (who !== 'anonymous') expect(await apiSignIn(contexts[who], who, floe.password), `${who} signs in`).toEqual({ status: 200, error: null });
  }

  // Alice's desktop: the one VM this spec boots.
  const opened = await contexts.alice.post('/api/desktops', { data: { pool: 'demo' } });
  expect(opened.status()).toBe(200);
  const desktopId = ((await opened.json()) as { desktop: { id: string } }).desktop.id;
  const A = encodeURIComponent(desktopId);
  await expect
    .poll(async () => ((await (await contexts.alice.get(`/api/desktops/${A}`)).json()) as { desktop: { stage: string } }).desktop.stage, {
      timeout: 180_000,
      intervals: [500],
    })
    .toBe('ready');

  const rows: Row[] = [
    { what: 'GET /api/me', call: (r) => r.get('/api/me'), expect: all(200, { anonymous: 401 }) },
    { what: 'GET /api/auth/session', call: (r) => r.get('/api/auth/session'), expect: all(200) },
    { what: 'GET /api/desktops', call: (r) => r.get('/api/desktops'), expect: all(200, { anonymous: 401 }) },
    { what: 'POST /api/desktops (no such pool)', call: (r) => r.post('/api/desktops', { data: { pool: 'no-such-pool' } }), expect: all(404, { anonymous: 401 }) },
    { what: "GET alice's desktop", call: (r) => r.get(`/api/desktops/${A}`), expect: all(404, { anonymous: 401, alice: 200 }) },
    { what: "POST alice's console ticket", call: (r) => consoleTicket(r, A), expect: all(404, { anonymous: 401, alice: 200 }) },
    { what: "POST power on alice's desktop", call: (r) => r.post(`/api/desktops/${A}/power`, { data: { action: 'restart' } }), expect: all(404, { anonymous: 401, alice: '-' }) },
    { what: 'GET a desktop that does not exist', call: (r) => r.get('/api/desktops/no-such-desktop'), expect: all(404, { anonymous: 401 }) },
    { what: 'GET /api/admin/pools', call: (r) => r.get('/api/admin/pools'), expect: all(403, { anonymous: 401, admin: 200 }) },
    { what: 'POST /api/admin/pools (empty)', call: (r) => r.post('/api/admin/pools', { data: {} }), expect: all(403, { anonymous: 401, admin: 400 }) },
    { what: 'PUT /api/admin/pools/demo (empty)', call: (r) => r.put('/api/admin/pools/demo', { data: {} }), expect: all(403, { anonymous: 401, admin: 400 }) },
    { what: 'DELETE /api/admin/pools/no-such-pool', call: (r) => r.delete('/api/admin/pools/no-such-pool'), expect: all(403, { anonymous: 401, admin: 404 }) },
    { what: 'page /', call: (r) => r.get('/'), expect: all(307), location: { anonymous: /^\/login$/, alice: /^\/desktops$/, admin: /^\/desktops$/ } },
    { what: 'page /login', call: (r) => r.get('/login'), expect: all(307, { anonymous: 200 }), location: { bob: /^\/desktops$/ } },
    { what: 'page /desktops', call: (r) => r.get('/desktops'), expect: all(200, { anonymous: 307 }), location: { anonymous: /^\/login\?callbackUrl=%2Fdesktops$/ } },
    { what: "page of alice's desktop", call: (r) => r.get(`/desktops/${A}`), expect: all(404, { anonymous: 307, alice: 200 }), location: { anonymous: new RegExp(`^/login\\?callbackUrl=%2Fdesktops%2F${A}$`) } },
  ];

  const mismatches: string[] = [];
  for (const row of rows) {
    for (const who of EVERYONE) {
      const wanted = row.expect[who];
      if (wanted === '-') continue;
      const response = await row.call(contexts[who]);
      const got = response.status();
      if (got !== wanted) mismatches.push(`${row.what} as ${who}: ${got}, expected ${wanted} (${(await response.text()).slice(0, 120)})`);
      const location = row.location?.[who];
      if (location && !location.test((response.headers().location ?? '').replace(floe.url, ''))) {
        mismatches.push(`${row.what} as ${who}: redirected to ${response.headers().location}, expected ${location}`);
      }
      if (got >= 400 && response.url().includes('/api/')) {
        const body = (await response.json().catch(() => ({}))) as { error?: unknown };
        if (typeof body.error !== 'string' || body.error.length < 5) mismatches.push(`${row.what} as ${who}: ${got} without a message`);
      }
      if (got >= 500) mismatches.push(`${row.what} as ${who}: server error`);
    }
  }
  expect(mismatches, 'the authorization matrix').toEqual([]);

  // Who am I, and what each one's desktop list shows.
  for (const who of EVERYONE.filter((w): w is Exclude<Who, 'anonymous'> => w !== 'anonymous')) {
    expect(await (await contexts[who].get('/api/me')).json()).toEqual({ user: expect.objectContaining({ name: who, role: ROLE[who] }) });
    const listing = JSON.stringify(await (await contexts[who].get('/api/desktops')).json());
    expect(listing.includes(desktopId), `${who}'s list ${who === 'alice' ? 'has' : 'does not have'} alice's desktop`).toBe(who === 'alice');
  }
  expect(await (await contexts.anonymous.get('/api/auth/session')).json()).toEqual({});

  // The console WebSocket refuses other origins before it looks at the ticket (a real one here).
  const ticket = (await (await consoleTicket(contexts.alice, A)).json()) as { path: string };
  const wsUrl = `${floe.url.replace(/^http/, 'ws')}${ticket.path}`;
  const upgrade = (origin: string | undefined, url = wsUrl) => upgradeStatus(url, origin);
  expect(await upgrade('http://evil.example'), 'another origin').toBe(403);
  expect(await upgrade(undefined), 'no origin').toBe(403);
  expect(await upgrade(floe.url, `${floe.url.replace(/^http/, 'ws')}/console/ws?ticket=made-up`), 'own origin, made-up ticket').toBe(401);

  // Alice in the browser: sent to sign in from her desktop's address, back to it, her screen drawn under the CSP.
  const context = await browser.newContext({ baseURL: floe.url });
  await context.addInitScript(() => {
    (window as unknown as { cspViolations: string[] }).cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { cspViolations: string[] }).cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) consoleErrors.push(message.text());
  });
  await page.goto(`/desktops/${A}`);
  await expect(page).toHaveURL(new RegExp(`/login\\?callbackUrl=%2Fdesktops%2F${A}$`));
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill(floe.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/desktops/${A}$`));
  const screen = page.getByRole('application', { name: 'Desktop screen' });
  await expect(screen).toBeVisible({ timeout: 60_000 });
  await expect
    .poll(
      () =>
        screen.evaluate((node) => {
          const canvas = node as HTMLCanvasElement;
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let lit = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i]! + data[i + 1]! + data[i + 2]! > 96) lit++;
          return lit;
        }),
      { timeout: 60_000 },
    )
    .toBeGreaterThan(200);
  expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
  expect(consoleErrors).toEqual([]);
  await context.close();
  for (const who of EVERYONE) await contexts[who].dispose();
});

test('a console ticket is refused without its owner’s live sign-in: no cookie, or another user’s', async ({ playwright, floe }) => {
  test.setTimeout(300_000);
  const alice = await playwright.request.newContext({ baseURL: floe.url });
  const bob = await playwright.request.newContext({ baseURL: floe.url });
  expect((await apiSignIn(alice, 'alice', floe.password)).error).toBeNull();
  expect((await apiSignIn(bob, 'bob', floe.password)).error).toBeNull();
  // Alice's desktop, opened (or found running) by this test itself.
  const opened = await alice.post('/api/desktops', { data: { pool: 'demo' } });
  expect(opened.status()).toBe(200);
  const desktopId = ((await opened.json()) as { desktop: { id: string } }).desktop.id;
  const A = encodeURIComponent(desktopId);
  await expect
    .poll(async () => ((await (await alice.get(`/api/desktops/${A}`)).json()) as { desktop: { stage: string } }).desktop.stage, {
      timeout: 180_000,
      intervals: [500],
    })
    .toBe('ready');
  const cookieOf = async (context: APIRequestContext) =>
    (await context.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  /** Upgrades with a fresh ticket of alice's, sending `cookie`; the HTTP status (101 when it opened). */
  const upgradeWith = async (cookie: string | undefined) => {
    const ticket = (await (await consoleTicket(alice, A)).json()) as { path: string };
    return upgradeStatus(`${floe.url.replace(/^http/, 'ws')}${ticket.path}`, floe.url, cookie);
  };
  expect(await upgradeWith(await cookieOf(alice)), 'with her own sign-in the ticket works').toBe(101);
  expect(await upgradeWith(undefined), 'without a sign-in').toBe(401);
  expect(await upgradeWith(await cookieOf(bob)), 'with bob’s sign-in').toBe(403);
  await alice.dispose();
  await bob.dispose();
});

interface FoundRoute {
  /** e.g. /api/desktops/no-such-id/power */
  path: string;
  kind: 'page' | 'api';
  methods: string[];
  area: 'admin' | 'helpdesk' | 'signed-in';
}

const PLACEHOLDERS: Record<string, string> = { id: 'no-such-id', name: 'no-such-name', sessionId: 'no-such-session' };

/** Every page.tsx and route.ts under app/, with placeholder values in dynamic segments. */
function findRoutes(): FoundRoute[] {
  const appDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'app');
  const found: FoundRoute[] = [];
  const walk = (dir: string, segments: string[]) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        walk(path.join(dir, entry.name), [...segments, entry.name]);
        continue;
      }
      const isPage = entry.name === 'page.tsx';
      const isRoute = entry.name === 'route.ts';
      if (!isPage && !isRoute) continue;
      const parts = segments.filter((s) => !/^\(.*\)$/.test(s));
      if (parts.some((s) => s.startsWith('[...') || s.startsWith('[[...'))) continue; // next-auth's catch-all
      const urlPath = `/${parts.map((s) => (s.startsWith('[') ? (PLACEHOLDERS[s.slice(1, -1)] ?? 'no-such-thing') : s)).join('/')}`;
      const source = fs.readFileSync(path.join(dir, entry.name), 'utf8');
      const methods = isPage ? ['GET'] : [...source.matchAll(/export\s+(?:async\s+)?function\s+(GET|POST|PUT|PATCH|DELETE)\b/g)].map((m) => m[1]!);
      const area = /^\/(api\/)?admin(\/|$)|^\/metrics$/.test(urlPath) ? 'admin' : /^\/(api\/)?helpdesk(\/|$)/.test(urlPath) ? 'helpdesk' : 'signed-in';
      found.push({ path: urlPath, kind: isPage ? 'page' : 'api', methods, area });
    }
  };
  walk(appDir, []);
  return found;
}

const OPEN_TO_ANONYMOUS = new Set(['/login', '/']);

test('every page and route handler in app/ refuses anonymous and wrong-role callers', async ({ playwright, floe }) => {
  const routes = findRoutes();
  expect(routes.length).toBeGreaterThan(5);
  const who = ['anonymous', 'alice', 'helen', 'admin'] as const;
  const roleOf = { anonymous: null, alice: 'user', helen: 'helpdesk', admin: 'admin' } as const;
  const contexts = {} as Record<(typeof who)[number], APIRequestContext>;
  for (const w of who) {
    contexts[w] = await playwright.request.newContext({ baseURL: floe.url, maxRedirects: 0 });
    if (w !== 'anonymous') expect((await apiSignIn(contexts[w], w, floe.password)).error).toBeNull();
  }
  const allowed = (area: FoundRoute['area'], role: string | null) =>
    role !== null && (area === 'signed-in' || role === 'admin' || (area === 'helpdesk' && role === 'helpdesk'));

  const wrong: string[] = [];
  for (const route of routes) {
    if (OPEN_TO_ANONYMOUS.has(route.path)) continue;
    for (const method of route.methods) {
      for (const w of who) {
        const role = roleOf[w];
        const mayUse = allowed(route.area, role);
        // Allowed callers are only asked to read: a change request could really change something.
        if (mayUse && method !== 'GET') continue;
        const response = await contexts[w].fetch(route.path, {
          method,
          ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, data: Buffer.from('{}') }),
        });
        const status = response.status();
        const location = response.headers().location ?? '';
        const label = `${method} ${route.path} as ${w}`;
        if (status >= 500) wrong.push(`${label}: ${status}`);
        else if (role === null) {
          const ok = route.kind === 'page' ? status === 307 && /\/login(\?|$)/.test(location) : status === 401;
          if (!ok) wrong.push(`${label}: ${status} ${location}, expected ${route.kind === 'page' ? 'a redirect to /login' : '401'}`);
        } else if (!mayUse) {
          if (status !== 403) wrong.push(`${label}: ${status}, expected 403 (${route.area} area)`);
        } else if (status === 401 || status === 403) {
          wrong.push(`${label}: ${status}, expected to be let in (${route.area} area)`);
        }
      }
    }
  }
  expect(wrong, `${routes.length} pages and route handlers checked`).toEqual([]);
  for (const w of who) await contexts[w].dispose();
});
