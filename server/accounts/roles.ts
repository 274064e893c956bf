/**
 * Floe's roles and what a role check means: `user` (own desktops), `helpdesk` (any person's
 * desktops and consoles), `admin` (everything). A check names the roles it allows; none named
 * means any signed-in person; an admin passes every check. lib/auth.ts's requireRole and
 * requireApiRole decide with these.
 */
import type { Role } from '../db/schema';

export const ROLES: readonly Role[] = ['user', 'helpdesk', 'admin'];

/** Whether `role` passes a check allowing `allowed` (none listed: any signed-in person). */
export function hasRole(role: Role, allowed: readonly Role[]): boolean {
  return allowed.length === 0 || role === 'admin' || allowed.includes(role);
}

/** "the helpdesk or admin role": the words a 403 uses for what a check needs. */
export function rolesNeeded(allowed: readonly Role[]): string {
  const named = ROLES.filter((r) => r !== 'admin' && allowed.includes(r));
  return `the ${[...named, 'admin'].join(' or ')} role`;
}

/**
 * Whether a staff member of `staffRole` may act on (open, reset, return…) a desktop whose owner
 * has `ownerRole`: the helpdesk only on people's (`user`) desktops, admins on anyone's.
 */
export function mayOpenDesktopOf(staffRole: Role, ownerRole: Role | undefined): boolean {
  if (staffRole === 'admin') return true;
  return staffRole === 'helpdesk' && ownerRole === 'user';
}
