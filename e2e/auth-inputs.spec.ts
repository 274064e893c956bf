/**
 * Bad input to every API, from a table: malformed JSON, wrong types, unknown fields, huge
 * bodies, wrong content types and odd ids each get a 4xx with a JSON message saying what is
 * wrong, never a 500 (and never a VM boot: no row here is a valid request to open a desktop).
 * Also the sign-in page's own inputs: where it sends people after sign-in (never to another
 * site) and what it shows for an error code in its address (never the address's text).
 */
import type { APIRequestContext } from '@playwright/test';
import { apiSignIn, expect, test } from './auth-fixtures';

interface Case {
  who: 'anonymous' | 'bob' | 'admin';
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  type?: string;
  body?: string;
  status: number;
  message: RegExp;
}

const HUGE = `{"pool":"${'a'.repeat(1024 * 1024)}"}`;
const json = 'application/json';

const CASES: Case[] = [
  // Open a desktop.
  { who: 'bob', method: 'POST', path: '/api/desktops', type: 'text/plain', body: '{"pool":"demo"}', status: 415, message: /application\/json/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: '{"pool":', status: 400, message: /not valid JSON/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: '', status: 400, message: /not valid JSON/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: 'null', status: 400, message: /Invalid request/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: '[]', status: 400, message: /Invalid request/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: '{"pool":5}', status: 400, message: /pool/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: '{"pool":""}', status: 400, message: /pool/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: '{"pool":"demo","as":"alice"}', status: 400, message: /Invalid request/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: HUGE, status: 413, message: /larger than/ },
  { who: 'bob', method: 'POST', path: '/api/desktops', type: json, body: '{"pool":"no-such-pool"}', status: 404, message: /no desktop pool named/ },
  { who: 'anonymous', method: 'POST', path: '/api/desktops', type: json, body: '{"pool":', status: 401, message: /Please sign in/ },
  // One desktop, its power and its console ticket, with odd ids.
  { who: 'bob', method: 'GET', path: '/api/desktops/no-such-desktop', status: 404, message: /does not exist or is not yours/ },
  { who: 'bob', method: 'GET', path: `/api/desktops/${'x'.repeat(1500)}`, status: 404, message: /does not exist or is not yours/ },
  { who: 'bob', method: 'GET', path: '/api/desktops/%00%27%22', status: 400, message: /address is not valid/ },
  // Broken %-encoding in any [id] or [name] route (Next answered 500), and next-auth's error page.
  { who: 'bob', method: 'GET', path: '/api/desktops/%FF', status: 400, message: /address is not valid/ },
  { who: 'bob', method: 'GET', path: '/api/desktops/%', status: 400, message: /address is not valid/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/%E0%A4%A/console-ticket', status: 400, message: /address is not valid/ },
  { who: 'admin', method: 'PUT', path: '/api/admin/pools/%FF', type: json, body: '{}', status: 400, message: /address is not valid/ },
  { who: 'admin', method: 'GET', path: '/api/helpdesk/people/%', status: 400, message: /address is not valid/ },
  { who: 'anonymous', method: 'GET', path: '/api/auth/error?error=%00', status: 400, message: /address is not valid/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/..%2F..%2Fetc/console-ticket', status: 404, message: /does not exist or is not yours/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/console-ticket', type: json, body: '{garbage', status: 404, message: /does not exist or is not yours/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/power', type: json, body: '{"action":', status: 400, message: /not valid JSON/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/power', type: json, body: '{"action":"explode"}', status: 400, message: /action/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/power', type: json, body: '{"action":["reset"]}', status: 400, message: /action/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/power', type: json, body: '{}', status: 400, message: /action/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/power', type: 'text/plain', body: '{"action":"reset"}', status: 415, message: /application\/json/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/power', type: json, body: HUGE, status: 413, message: /larger than/ },
  { who: 'bob', method: 'POST', path: '/api/desktops/no-such-desktop/power', type: json, body: '{"action":"reset"}', status: 404, message: /does not exist or is not yours/ },
  // Pools (admin).
  { who: 'admin', method: 'POST', path: '/api/admin/pools', type: json, body: '{"name":', status: 400, message: /not valid JSON/ },
  { who: 'admin', method: 'POST', path: '/api/admin/pools', type: json, body: '{"name":5,"title":[]}', status: 400, message: /name/ },
  { who: 'admin', method: 'POST', path: '/api/admin/pools', type: 'text/plain', body: '{}', status: 415, message: /application\/json/ },
  { who: 'admin', method: 'POST', path: '/api/admin/pools', type: json, body: HUGE, status: 413, message: /larger than/ },
  { who: 'admin', method: 'PUT', path: '/api/admin/pools/demo', type: json, body: '"demo"', status: 400, message: /Invalid request/ },
  // Sign-in (next-auth's endpoint).
  { who: 'anonymous', method: 'POST', path: '/api/auth/callback/credentials', type: json, body: '{"username":', status: 400, message: /not valid JSON/ },
  { who: 'anonymous', method: 'POST', path: '/api/auth/callback/credentials', type: json, body: '["alice"]', status: 400, message: /expected an object/ },
  { who: 'anonymous', method: 'POST', path: '/api/auth/callback/credentials', type: 'text/plain', body: 'username=alice', status: 415, message: /x-www-form-urlencoded/ },
  { who: 'anonymous', method: 'POST', path: '/api/auth/callback/credentials', type: 'application/x-www-form-urlencoded', body: `username=${'a'.repeat(100_000)}`, status: 413, message: /larger than/ },
];

async function send(context: APIRequestContext, c: Case) {
  // A Buffer goes as it is (a string with a JSON content type would be JSON-encoded again).
  return context.fetch(c.path, { method: c.method, headers: c.type ? { 'content-type': c.type } : {}, data: c.body === undefined ? undefined : Buffer.from(c.body) });
}

test('bad input to every API gets a 4xx saying what is wrong, never a 500', async ({ playwright, floe }) => {
  const contexts = {
    anonymous: await playwright.request.newContext({ baseURL: floe.url }),
    bob: await playwright.request.newContext({ baseURL: floe.url }),
    admin: await playwright.request.newContext({ baseURL: floe.url }),
  };
  expect((await apiSignIn(contexts.bob, 'bob', floe.password)).error).toBeNull();
  expect((await apiSignIn(contexts.admin, 'admin', floe.password)).error).toBeNull();

  const wrong: string[] = [];
  for (const c of CASES) {
    const response = await send(contexts[c.who], c);
    const text = await response.text();
    let message = '';
    try {
      message = String((JSON.parse(text) as { error?: unknown }).error ?? '');
    } catch {
      message = `(not JSON) ${text.slice(0, 80)}`;
    }
    const label = `${c.who} ${c.method} ${c.path.slice(0, 60)} ${c.body ? c.body.slice(0, 30) : ''}`;
    if (response.status() !== c.status || !c.message.test(message)) wrong.push(`${label}: ${response.status()} "${message.slice(0, 100)}", expected ${c.status} ${c.message}`);
  }
  expect(wrong).toEqual([]);

  // Sign-in fields of the wrong type are dropped, and the form's refusal code comes back (the form words it).
  const csrf = (await (await contexts.anonymous.get('/api/auth/csrf')).json()) as { csrfToken: string };
  const typed = await contexts.anonymous.post('/api/auth/callback/credentials', {
    data: { csrfToken: csrf.csrfToken, username: ['alice'], password: { $ne: '' }, json: 'true' },
  });
  expect(typed.status()).toBe(401);
  expect(new URL(((await typed.json()) as { url: string }).url).searchParams.get('error')).toBe('floe:missing');
  // Without the CSRF token nothing signs in (next-auth sends the client back to sign in).
  const forged = await contexts.anonymous.post('/api/auth/callback/credentials', { form: { username: 'bob', password: floe.password, json: 'true' } });
  expect(forged.status()).toBeLessThan(500);
  expect((await contexts.anonymous.get('/api/me')).status()).toBe(401);
  expect(floe.output(), 'no unhandled server error').not.toMatch(/⨯/);
  for (const context of Object.values(contexts)) await context.dispose();
});

test('after sign-in people are only ever sent to Floe’s own pages', async ({ playwright, floe }) => {
  const bob = await playwright.request.newContext({ baseURL: floe.url, maxRedirects: 0 });
  expect((await apiSignIn(bob, 'bob', floe.password)).error).toBeNull();
  for (const [callbackUrl, destination] of [
    ['//evil.example/x', '/desktops'],
    ['/\\evil.example', '/desktops'],
    ['https://evil.example/', '/desktops'],
    ['javascript:alert(1)', '/desktops'],
    ['/login', '/desktops'],
    ['/desktops/some-id?x=1', '/desktops/some-id?x=1'],
  ]) {
    const response = await bob.get(`/login?callbackUrl=${encodeURIComponent(callbackUrl!)}`);
    expect(response.status(), callbackUrl).toBe(307);
    expect(response.headers().location, callbackUrl).toBe(destination);
  }
  await bob.dispose();
});

test('the sign-in page shows words for error codes, never the address’s own text', async ({ page }) => {
  await page.goto('/login?error=OidcNotAllowed');
  await expect(page.getByRole('alert').filter({ hasText: /\S/ })).toHaveText('Your account may not use Floe. Please ask the helpdesk to give you access.');
  await page.goto(`/login?error=${encodeURIComponent('<b>Your password expired, call 555-0100</b>')}`);
  await expect(page.getByRole('alert').filter({ hasText: /\S/ })).toHaveText('Signing in did not work. Please try again.');
  await expect(page.getByText('555-0100')).toHaveCount(0);
});
