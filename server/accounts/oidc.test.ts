/**
 * OIDC sign-in below next-auth: settings from the environment, the groups claim (arrays,
 * strings, nested paths, Keycloak's "/group" paths) mapped to Floe roles, and the Floe user an
 * OIDC person becomes: created without a password, refreshed on each sign-in, never linked to an
 * existing local account of the same name, refused when disabled or outside the allowed groups.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { recordAudit } from '../db/audit';
import type { FloeDatabase } from '../db/database';
import { Accounts } from './accounts';
import { type OidcSettings, groupsOf, oidcSettingsFromEnv, roleForGroups } from './oidc';
import { signInWithOidc } from './oidc-sign-in';
import { SignInSessions } from './sign-in-sessions';
import { freshDatabase } from './testing';

const ENV = {
  FLOE_OIDC_ISSUER: 'https://login.example.org/realms/floe/',
  FLOE_OIDC_CLIENT_ID: 'floe',
  FLOE_OIDC_CLIENT_SECRET: 's3cret',
  FLOE_OIDC_ADMIN_GROUPS: 'floe-admins, IT Admins',
  FLOE_OIDC_HELPDESK_GROUPS: 'helpdesk',
};

describe('OIDC settings and role mapping', () => {
  test('off without an issuer; defaults; bad values named', () => {
    assert.equal(oidcSettingsFromEnv({}), undefined);
    const settings = oidcSettingsFromEnv(ENV);
    assert.deepEqual(settings, {
      issuer: 'https://login.example.org/realms/floe',
      clientId: 'floe',
      clientSecret: 's3cret',
      displayName: 'single sign-on',
      scopes: 'openid profile email',
      rolesClaim: 'groups',
      adminGroups: ['floe-admins', 'IT Admins'],
      helpdeskGroups: ['helpdesk'],
      userGroups: [],
    });
    assert.equal(oidcSettingsFromEnv({ ...ENV, FLOE_OIDC_SCOPES: 'profile groups' })?.scopes, 'openid profile groups');
    assert.throws(() => oidcSettingsFromEnv({ ...ENV, FLOE_OIDC_CLIENT_SECRET: '' }), /FLOE_OIDC_CLIENT_SECRET/);
    assert.throws(() => oidcSettingsFromEnv({ ...ENV, FLOE_OIDC_ISSUER: 'not a url' }), /FLOE_OIDC_ISSUER/);
    assert.throws(() => oidcSettingsFromEnv({ ...ENV, FLOE_OIDC_ROLES_CLAIM: 'groups; drop' }), /FLOE_OIDC_ROLES_CLAIM/);
  });

  test('groups from arrays, strings, nested paths and dotted claim names', () => {
    assert.deepEqual(groupsOf({ groups: ['a', 'b', 7, null] }, 'groups'), ['a', 'b']);
    assert.deepEqual(groupsOf({ groups: 'a, b c' }, 'groups'), ['a', 'b', 'c']);
    assert.deepEqual(groupsOf({ realm_access: { roles: ['helpdesk'] } }, 'realm_access.roles'), ['helpdesk']);
    assert.deepEqual(groupsOf({ 'https://floe.example/roles': ['admin'] }, 'https://floe.example/roles'), ['admin']);
    assert.deepEqual(groupsOf({}, 'groups'), []);
    assert.deepEqual(groupsOf({ groups: { admin: true } }, 'groups'), []);
  });

  test('the highest role wins; names compare without case or a leading slash', () => {
    const settings = oidcSettingsFromEnv(ENV)!;
    assert.equal(roleForGroups(['staff'], settings), 'user');
    assert.equal(roleForGroups([], settings), 'user');
    assert.equal(roleForGroups(['/Helpdesk'], settings), 'helpdesk');
    assert.equal(roleForGroups(['helpdesk', 'it admins'], settings), 'admin');
    assert.equal(roleForGroups(['/floe-admins'], settings), 'admin');
    assert.equal(roleForGroups(['floe-admins-not'], settings), 'user', 'whole names only');
  });

  test('with FLOE_OIDC_USER_GROUPS only listed groups may use Floe', () => {
    const settings = oidcSettingsFromEnv({ ...ENV, FLOE_OIDC_USER_GROUPS: 'floe-users' })!;
    assert.equal(roleForGroups(['staff'], settings), null);
    assert.equal(roleForGroups(['floe-users'], settings), 'user');
    assert.equal(roleForGroups(['helpdesk'], settings), 'helpdesk', 'the role groups are allowed too');
  });
});

describe('OIDC sign-in makes and refreshes Floe users', () => {
  let database: FloeDatabase;
  let deps: Parameters<typeof signInWithOidc>[0];
  let settings: OidcSettings;

  // A fresh database per test: each makes the users it looks at.
  beforeEach(async () => {
    database = await freshDatabase();
    deps = {
      accounts: new Accounts(database.db),
      sessions: new SignInSessions(database.db, { lifetimeMs: 3_600_000, idleMs: 600_000, touchEveryMs: 1000 }),
      audit: (entry) => recordAudit(database.db, entry),
    };
    settings = oidcSettingsFromEnv({ ...ENV, FLOE_OIDC_USER_GROUPS: 'staff' })!;
    await deps.accounts.addUser({ name: 'admin', password: 'local admin password', role: 'admin' });
  });
  afterEach(async () => {
    await database.close();
  });

  test('first sign-in creates the user without a password; later ones refresh name and role', async () => {
    const first = await signInWithOidc(deps, settings, { sub: 'abc-123', preferred_username: 'hana', name: 'Hana Ito', groups: ['staff'] }, { clientAddress: '192.0.2.9' });
    assert.ok(first.ok);
    assert.equal(first.created, true);
    assert.equal(first.user.name, 'hana');
    assert.equal(first.user.role, 'user');
    assert.equal(first.user.password_hash, null);
    assert.equal((await deps.sessions.check(first.sessionId)).ok, true);

    const second = await signInWithOidc(deps, settings, { sub: 'abc-123', preferred_username: 'hana', name: 'Hana Ito-Berg', groups: ['/helpdesk'] });
    assert.ok(second.ok);
    assert.equal(second.created, false);
    assert.equal(second.user.id, first.user.id);
    const stored = await deps.accounts.findById(first.user.id);
    assert.equal(stored?.role, 'helpdesk');
    assert.equal(stored?.display_name, 'Hana Ito-Berg');
    const actions = (await database.db.selectFrom('audit_log').select('action').where('target', '=', 'hana').orderBy('id').execute()).map((r) => r.action);
    assert.deepEqual(actions, ['user added', 'sign-in', 'sign-in']);
  });

  test('a provider user named like a local account gets a name of their own, not that account', async () => {
    const result = await signInWithOidc(deps, settings, { sub: 'evil-1', preferred_username: 'admin', groups: ['staff'] });
    assert.ok(result.ok);
    assert.notEqual(result.user.name, 'admin');
    assert.match(result.user.name, /^admin-[0-9a-f]{6}$/);
    assert.equal(result.user.role, 'user');
    const local = await deps.accounts.findByName('admin');
    assert.equal(local?.role, 'admin');
    assert.notEqual(local?.id, result.user.id);
  });

  test('people outside the allowed groups, and disabled users, are refused', async () => {
    assert.deepEqual(await signInWithOidc(deps, settings, { sub: 'x-1', preferred_username: 'ivan', groups: ['visitors'] }), { ok: false, code: 'OidcNotAllowed' });
    assert.equal(await deps.accounts.findByName('ivan'), undefined, 'no user is made for them');
    assert.deepEqual(await signInWithOidc(deps, settings, { preferred_username: 'nosub' }), { ok: false, code: 'OidcNoSubject' });

    const joe = await signInWithOidc(deps, settings, { sub: 'joe-1', preferred_username: 'joe', groups: ['staff'] });
    assert.ok(joe.ok);
    await deps.accounts.setDisabled('joe', true);
    assert.deepEqual(await signInWithOidc(deps, settings, { sub: 'joe-1', preferred_username: 'joe', groups: ['staff'] }), { ok: false, code: 'AccountDisabled' });
  });

  test('the CLI-facing list shows who signs in how', async () => {
    assert.ok((await signInWithOidc(deps, settings, { sub: 'abc-123', preferred_username: 'hana', groups: ['staff'] })).ok);
    const users = await deps.accounts.listUsers();
    assert.equal(users.find((u) => u.name === 'admin')?.identityIssuer, null);
    assert.equal(users.find((u) => u.name === 'hana')?.identityIssuer, 'https://login.example.org/realms/floe');
  });
});

test('start-up check of every sign-in setting names a bad variable', async () => {
  const { checkSignInSettings } = await import('./services');
  assert.equal(checkSignInSettings({}), 'sessions last 12 h, end after 60 min unused; sign-in locks after 5 failures for 15 min; OIDC sign-in off');
  assert.match(checkSignInSettings(ENV), /OIDC sign-in through https:\/\/login\.example\.org\/realms\/floe$/);
  assert.throws(() => checkSignInSettings({ FLOE_IDLE_MINUTES: 'soon' }), /FLOE_IDLE_MINUTES/);
  assert.throws(() => checkSignInSettings({ FLOE_OIDC_ISSUER: 'https://x.example' }), /FLOE_OIDC_CLIENT_ID/);
});
