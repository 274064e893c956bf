/**
 * The admin users page, round trip, on a server of its own (sign-in locks after 3 failures):
 * search and paging; adding a person (a bad name refused beside its field, then a password
 * shown once that signs them in); their sign-ins on their page; role change, lock and unlock,
 * disable and enable, a password reset (the old password stops working); an OIDC user shown as
 * such with no password to reset; every change in the audit log under the admin's name.
 */
import type { APIRequestContext } from '@playwright/test';
import { apiSignIn, expect, test, withDatabase } from './auth-fixtures';
import { screenshotPath, signIn } from './fixtures';


test('admins add, find, change, lock out and let back in a person, all audited', async ({ page, floe, playwright }) => {
  test.setTimeout(120_000);
  const fresh = async (): Promise<APIRequestContext> => playwright.request.newContext({ baseURL: floe.url });
  await signIn(page, 'admin', floe.password);
  await page.goto('/admin/pools');
  await page.getByRole('navigation', { name: 'Staff' }).getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible();
  const people = page.getByRole('region', { name: /^People/ });
  for (const name of ['admin', 'alice', 'bob', 'helen']) await expect(people.getByRole('link', { name, exact: true })).toBeVisible();

  // Search by display name.
  await page.getByRole('searchbox', { name: 'Name or display name' }).fill('okafor');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('region', { name: /People matching "okafor"/ }).getByRole('row')).toHaveCount(2);
  await expect(page.getByRole('link', { name: 'helen', exact: true })).toBeVisible();

  // A bad name is refused beside its field; then carol is added with a password shown once.
  await page.goto('/admin/users');
  const add = page.getByRole('region', { name: 'Add a person' });
  await add.getByLabel('User name').fill('carol diaz!');
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(add.getByLabel('User name')).toHaveAttribute('aria-invalid', 'true');
  await expect(add.getByText(/may use letters, digits/)).toBeVisible();
  await add.getByLabel('User name').fill('carol');
  await add.getByLabel('Display name').fill('Carol Diaz');
  await add.getByRole('button', { name: 'Add' }).click();
  const shown = add.getByLabel('New password for carol');
  await expect(shown).toBeVisible();
  const firstPassword = (await shown.textContent())!;
  await expect(add.getByText(/Shown once/)).toBeVisible();
  await add.getByLabel('User name').fill('carol');
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(add.getByText('A user named "carol" already exists.')).toBeVisible();
  await page.screenshot({ path: screenshotPath('admin-users.png'), fullPage: true });

  const carol = await fresh();
  expect((await apiSignIn(carol, 'carol', firstPassword)).error).toBeNull();

  // Paging: 20 a page.
  const admin = page.context().request;
  for (let i = 0; i < 17; i++) {
    expect((await admin.post('/api/admin/users', { data: { name: `paging-${String(i).padStart(2, '0')}`, role: 'user' } })).status()).toBe(201);
  }
  await page.goto('/admin/users');
  const pager = page.getByRole('navigation', { name: 'User pages' });
  await expect(pager).toContainText(/Page 1 of \d/);
  await expect(page.getByRole('region', { name: /^People/ }).getByRole('row'), '20 people and the header').toHaveCount(21);
  await pager.getByRole('link', { name: 'Next →' }).click();
  await expect(pager).toContainText(/Page 2 of \d/);
  await expect(page.getByRole('region', { name: /^People/ }).getByRole('link', { name: 'paging-16' })).toBeVisible();

  // Carol's page: her sign-in, and the changes.
  await page.goto('/admin/users/carol');
  await expect(page.getByRole('heading', { name: 'Carol Diaz' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Sign-ins' }).getByRole('row')).toHaveCount(2);
  const account = page.getByRole('region', { name: 'Account' });
  await account.getByLabel('Role').selectOption('helpdesk');
  await account.getByRole('button', { name: 'Change role' }).click();
  await expect(account.getByRole('status')).toHaveText('carol is now helpdesk (was user).');

  // Locked after three wrong passwords; Unlock lets her in again.
  const guesser = await fresh();
  for (let i = 0; i < 3; i++) await apiSignIn(guesser, 'carol', 'wrong-password');
  await page.reload();
  await expect(page.getByText('Locked', { exact: true })).toBeVisible();
  await account.getByRole('button', { name: 'Unlock' }).click();
  await expect(account.getByRole('status')).toHaveText('Unlocked carol: their failed sign-ins are forgotten.');
  expect((await apiSignIn(await fresh(), 'carol', firstPassword)).error).toBeNull();

  // Disabled: her sign-in is refused; enabled again.
  await account.getByRole('button', { name: 'Disable' }).click();
  await expect(account.getByRole('status')).toContainText('Disabled carol');
  expect((await apiSignIn(await fresh(), 'carol', firstPassword)).error).not.toBeNull();
  expect((await carol.get('/api/me')).status()).toBe(401);
  await account.getByRole('button', { name: 'Enable' }).click();
  await expect(account.getByRole('status')).toHaveText('Enabled carol.');

  // Reset password: shown once, the old one no longer works.
  await account.getByRole('button', { name: 'Reset password' }).click();
  const reset = account.getByLabel('New password for carol');
  await expect(reset).toBeVisible();
  const secondPassword = (await reset.textContent())!;
  expect(secondPassword).not.toBe(firstPassword);
  expect((await apiSignIn(await fresh(), 'carol', firstPassword)).error).not.toBeNull();
  expect((await apiSignIn(await fresh(), 'carol', secondPassword)).error).toBeNull();
  await page.reload();
  await expect(page.getByRole('region', { name: 'Sign-ins' }).getByRole('row')).toHaveCount(4);
  await page.screenshot({ path: screenshotPath('admin-user.png'), fullPage: true });

  // An admin cannot lock themselves out.
  expect((await admin.post('/api/admin/users/admin', { data: { action: 'disable' } })).status()).toBe(409);
  const demote = await admin.post('/api/admin/users/admin', { data: { action: 'role', role: 'user' } });
  expect(demote.status()).toBe(400);
  expect((await demote.json()).issues).toEqual([{ field: 'role', message: 'You cannot take away your own admin role.', code: 'ownAdminRole' }]);
  expect((await admin.post('/api/admin/users/nobody', { data: { action: 'unlock' } })).status()).toBe(404);

  // An OIDC user is shown as such and has no password to reset.
  withDatabase(floe, (db) => {
    db.prepare("INSERT INTO users (id, name, display_name, password_hash, role, disabled, created_at) VALUES ('oidc-dora', 'dora', 'Dora OIDC', NULL, 'user', 0, ?)").run(Date.now());
    db.prepare("INSERT INTO user_identities (issuer, subject, user_id, created_at, last_sign_in_at) VALUES ('https://id.example', 'dora-1', 'oidc-dora', ?, ?)").run(Date.now(), Date.now());
  });
  await page.goto('/admin/users?q=dora');
  await expect(page.getByRole('row', { name: /dora/ })).toContainText('OIDC');
  await page.getByRole('link', { name: 'dora', exact: true }).click();
  await expect(page.getByText('OIDC (https://id.example)')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Reset password' })).toHaveCount(0);
  expect((await admin.post('/api/admin/users/dora', { data: { action: 'reset-password' } })).status()).toBe(409);

  // Every change is audited under the admin's name.
  const audited = withDatabase(floe, (db) =>
    db.prepare("SELECT action FROM audit_log WHERE target = 'carol' AND actor = 'admin' ORDER BY id").all() as { action: string }[],
  ).map((r) => r.action);
  expect(audited).toEqual(['user added', 'role changed', 'sign-in unlocked', 'user disabled', 'user enabled', 'password reset']);

  // Not for anyone else.
  const bob = await fresh();
  expect((await apiSignIn(bob, 'bob', floe.password)).error).toBeNull();
  expect((await bob.post('/api/admin/users', { data: { name: 'mallory', role: 'admin' } })).status()).toBe(403);
});
