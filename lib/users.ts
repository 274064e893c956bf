/**
 * The admin users page's way to the accounts (server/accounts/user-admin.ts, which the CLI uses
 * too): a page of people with search, one person with their sign-ins and desktops, and the
 * changes (add, role, disable/enable, unlock, reset password), each audited under the admin's
 * name. Requests are checked with zod; a bad field answers 400 with `issues` naming it.
 */
import 'server-only';
import { z } from 'zod';
import { RoleSchema } from '@/server/accounts/accounts';
import { signInServices } from '@/server/accounts/services';
import { UserAdmin, UserAdminError } from '@/server/accounts/user-admin';
import { getRuntime } from '@/server/runtime-registry';
import type { SessionUser } from './auth';
import { type DesktopStage, viewOf } from './desktops';
import { NextResponse } from 'next/server';
import { RequestError, errorResponse } from './http';
import { type Words, wordsOf } from '@/server/words';

export const USERS_PAGE_SIZE = 20;

/** A refusal that names the field it is about, for the form to show beside it. */
export class UserFieldError extends RequestError {
  constructor(
    message: string,
    readonly field: string,
    words: Words,
  ) {
    super(400, message, words);
  }
}

/** Answers an error of the users routes: a field refusal with `issues`, anything else as errorResponse does. */
export function userErrorResponse(error: unknown): NextResponse {
  if (error instanceof UserFieldError) {
    return NextResponse.json({ error: error.message, ...error.words, issues: [{ field: error.field, message: error.message, ...error.words }] }, { status: 400 });
  }
  return errorResponse(error);
}

function userAdmin(): UserAdmin {
  const runtime = getRuntime();
  const { sessions, throttle } = signInServices(runtime.database.db);
  return new UserAdmin(runtime.database.db, sessions, throttle);
}

/** Runs a change, turning the accounts' refusals into answers: unknown user 404, a bad field 400 with its name. */
async function change<T>(work: (admin: UserAdmin) => Promise<T>): Promise<T> {
  try {
    return await work(userAdmin());
  } catch (error) {
    if (error instanceof UserAdminError) throw error.field ? new UserFieldError(error.message, error.field, error.words) : new RequestError(409, error.message, error.words);
    if (error instanceof Error && error.name === 'UnknownUserError') throw new RequestError(404, error.message, wordsOf(error));
    throw error;
  }
}

export async function usersPage(search: string, page: number) {
  return userAdmin().list({ search, page, pageSize: USERS_PAGE_SIZE });
}

export interface UserDesktopView {
  id: string;
  pool: string;
  stage: DesktopStage;
  createdAt: number;
}

/** One person: their account, last sign-ins and desktops; null when there is no such user. */
export async function userDetail(name: string) {
  const detail = await userAdmin().detail(name);
  if (!detail) return null;
  const desktops = await getRuntime().broker.desktopsOfUser(detail.user.id);
  return {
    ...detail,
    desktops: desktops.map((d): UserDesktopView => {
      const view = viewOf(d);
      return { id: view.id, pool: view.pool, stage: view.stage, createdAt: view.createdAt };
    }),
  };
}

export const NewUserSchema = z.object({
  name: z.string().trim().min(1),
  displayName: z.string().trim().max(120).optional(),
  role: RoleSchema,
});

/** Adds a user with a generated password, returned to be shown once. */
export async function addUser(actor: SessionUser, input: z.infer<typeof NewUserSchema>): Promise<{ name: string; password: string }> {
  return change(async (admin) => {
    const { user, password } = await admin.add(actor.name, { name: input.name, role: input.role, displayName: input.displayName });
    return { name: user.name, password };
  });
}

export const UserChangeSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('role'), role: RoleSchema }),
  z.object({ action: z.literal('disable') }),
  z.object({ action: z.literal('enable') }),
  z.object({ action: z.literal('unlock') }),
  z.object({ action: z.literal('reset-password') }),
]);
export type UserChange = z.infer<typeof UserChangeSchema>;

/** What a change did: English for API clients, and its words for the page (server/words.ts). */
export interface UserChangeOutcome extends Words {
  message: string;
  /** A new password, shown once. */
  password?: string;
}

/** One change to a person's account; answers what the page says (and a new password, once). */
export async function changeUser(actor: SessionUser, name: string, request: UserChange): Promise<UserChangeOutcome> {
  return change(async (admin): Promise<UserChangeOutcome> => {
    switch (request.action) {
      case 'role': {
        if (name === actor.name && request.role !== 'admin') {
          throw new UserAdminError('You cannot take away your own admin role.', 'role', { code: 'ownAdminRole' });
        }
        const { from, oidc } = await admin.setRole(actor.name, name, request.role);
        return {
          message: `${name} is now ${request.role} (was ${from}).${oidc ? ' Their next OIDC sign-in sets the role from their groups again.' : ''}`,
          code: oidc ? 'roleChangedOidc' : 'roleChanged',
          params: { name, role: request.role, from },
        };
      }
      case 'disable': {
        if (name === actor.name) throw new UserAdminError('You cannot disable your own account.', undefined, { code: 'ownDisable' });
        const ended = await admin.setDisabled(actor.name, name, true);
        return {
          message: `Disabled ${name}${ended ? `; ended ${ended} sign-in session${ended === 1 ? '' : 's'}` : ''}.`,
          code: 'disabled',
          params: { name, sessions: ended },
        };
      }
      case 'enable':
        await admin.setDisabled(actor.name, name, false);
        return { message: `Enabled ${name}.`, code: 'enabled', params: { name } };
      case 'unlock': {
        await admin.existing(name);
        const hadFailures = await admin.unlock(actor.name, name);
        return hadFailures
          ? { message: `Unlocked ${name}: their failed sign-ins are forgotten.`, code: 'unlocked', params: { name } }
          : { message: `${name} had no failed sign-ins to forget.`, code: 'nothingToUnlock', params: { name } };
      }
      case 'reset-password': {
        const { password, sessionsEnded } = await admin.setPassword(actor.name, name);
        return {
          message: `New password for ${name}${sessionsEnded ? `; ended ${sessionsEnded} sign-in session${sessionsEnded === 1 ? '' : 's'}` : ''}.`,
          code: 'passwordReset',
          params: { name, sessions: sessionsEnded },
          password,
        };
      }
    }
  });
}
