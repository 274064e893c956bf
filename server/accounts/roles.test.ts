/** Role checks: who passes which check, and how a refusal names what was needed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Role } from '../db/schema';
import { hasRole, rolesNeeded } from './roles';

test('who passes which role check', () => {
  const table: [Role[], Record<Role, boolean>][] = [
    [[], { user: true, helpdesk: true, admin: true }],
    [['user'], { user: true, helpdesk: false, admin: true }],
    [['helpdesk'], { user: false, helpdesk: true, admin: true }],
    [['admin'], { user: false, helpdesk: false, admin: true }],
    [['user', 'helpdesk'], { user: true, helpdesk: true, admin: true }],
  ];
  for (const [allowed, expected] of table) {
    for (const role of ['user', 'helpdesk', 'admin'] as const) {
      assert.equal(hasRole(role, allowed), expected[role], `${role} on a check for [${allowed.join(', ')}]`);
    }
  }
});

test('a refusal names the roles needed', () => {
  assert.equal(rolesNeeded(['admin']), 'the admin role');
  assert.equal(rolesNeeded(['helpdesk']), 'the helpdesk or admin role');
  assert.equal(rolesNeeded(['helpdesk', 'user']), 'the user or helpdesk or admin role');
});
