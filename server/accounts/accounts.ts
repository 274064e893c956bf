/**
 * Floe's own user accounts: names, roles and argon2id password hashes (never plain text), and
 * the users an OIDC provider signs in (no password; linked by issuer and subject). Sign-in
 * (next-auth) and the `npm run user` CLI both come here.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database, Role, User } from '../db/schema';
import type { Words } from '../words';

export const RoleSchema = z.enum(['user', 'helpdesk', 'admin']);
export const UserNameSchema = z
  .string()
  .min(1, 'a user name is required')
  .max(64, 'a user name has at most 64 characters')
  .regex(/^[a-zA-Z0-9._@-]+$/, 'a user name may use letters, digits and . _ @ -');
export const PasswordSchema = z.string().min(8, 'a password has at least 8 characters').max(256);

export class UserExistsError extends Error {
  readonly words: Words;
  constructor(name: string) {
    super(`A user named "${name}" already exists.`);
    this.name = 'UserExistsError';
    this.words = { code: 'userExists', params: { name } };
  }
}

export class UnknownUserError extends Error {
  readonly words: Words;
  constructor(name: string) {
    super(`There is no user named "${name}".`);
    this.name = 'UnknownUserError';
    this.words = { code: 'unknownUser', params: { name } };
  }
}

export type PasswordCheck = { outcome: 'ok' | 'disabled'; user: User } | { outcome: 'wrong' };

/** The part of a user that sign-in and pages see. */
export interface SignedInUser {
  id: string;
  name: string;
  displayName: string;
  role: Role;
}

export function toSignedInUser(user: User): SignedInUser {
  return { id: user.id, name: user.name, displayName: user.display_name, role: user.role };
}

// A fixed hash to verify against when the user does not exist, so a wrong name costs as much
// time as a wrong password (no user-name probing by timing).
let decoyHash: Promise<string> | undefined;

export class Accounts {
  constructor(private readonly db: Kysely<Database>) {}

  async findByName(name: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async findById(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Adds a user; throws UserExistsError if the name is taken. */
  async addUser(input: { name: string; password: string; role?: Role; displayName?: string }): Promise<User> {
    const name = UserNameSchema.parse(input.name);
    const password = PasswordSchema.parse(input.password);
    const role = RoleSchema.parse(input.role ?? 'user');
    if (await this.findByName(name)) throw new UserExistsError(name);
    const user: User = {
      id: randomUUID(),
      name,
      display_name: input.displayName ?? name,
      password_hash: await hash(password),
      role,
      disabled: 0,
      created_at: Date.now(),
    };
    await this.db.insertInto('users').values(user).execute();
    return user;
  }

  async setPassword(name: string, password: string): Promise<void> {
    const passwordHash = await hash(PasswordSchema.parse(password));
    await this.updateByName(name, { password_hash: passwordHash });
  }

  async setRole(name: string, role: Role): Promise<void> {
    await this.updateByName(name, { role: RoleSchema.parse(role) });
  }

  async setDisabled(name: string, disabled: boolean): Promise<void> {
    await this.updateByName(name, { disabled: disabled ? 1 : 0 });
  }

  /** Returns the user when name and password match an enabled account, else undefined. */
  async verifyCredentials(name: string, password: string): Promise<User | undefined> {
    const result = await this.checkPassword(name, password);
    return result.outcome === 'ok' ? result.user : undefined;
  }

  /**
   * Checks a name and password. 'disabled' is only said when the password was right, so it tells
   * a password guesser nothing. An unknown name costs as much time as a wrong password.
   */
  async checkPassword(name: string, password: string): Promise<PasswordCheck> {
    const user = await this.findByName(name);
    const stored = user?.password_hash ?? (await (decoyHash ??= hash('decoy password for timing')));
    const matches = await verify(stored, password).catch(() => false);
    if (!user || !user.password_hash || !matches) return { outcome: 'wrong' };
    if (user.disabled) return { outcome: 'disabled', user };
    return { outcome: 'ok', user };
  }

  /** Every user, by name. */
  async listUsers(): Promise<(User & { identityIssuer: string | null })[]> {
    const rows = await this.db
      .selectFrom('users')
      .leftJoin('user_identities', 'user_identities.user_id', 'users.id')
      .selectAll('users')
      .select('user_identities.issuer as identityIssuer')
      .orderBy('users.name')
      .execute();
    return rows;
  }

  /**
   * The Floe user for a person an OIDC provider signed in (`issuer` + `subject`), created on
   * their first sign-in (without a password) and updated with the provider's name and role on
   * each one after. A new user's name is their preferred user name when it is free; it is never
   * linked to an existing account of the same name (that would let the provider take it over).
   */
  async signInExternal(input: {
    issuer: string;
    subject: string;
    preferredName: string;
    displayName: string;
    role: Role;
  }): Promise<{ user: User; created: boolean }> {
    const role = RoleSchema.parse(input.role);
    const displayName = input.displayName.trim().slice(0, 120) || input.preferredName;
    const now = Date.now();
    const linked = await this.db
      .selectFrom('user_identities')
      .innerJoin('users', 'users.id', 'user_identities.user_id')
      .selectAll('users')
      .where('user_identities.issuer', '=', input.issuer)
      .where('user_identities.subject', '=', input.subject)
      .executeTakeFirst();
    if (linked) {
      await this.db.updateTable('users').set({ role, display_name: displayName }).where('id', '=', linked.id).execute();
      await this.db
        .updateTable('user_identities')
        .set({ last_sign_in_at: now })
        .where('issuer', '=', input.issuer)
        .where('subject', '=', input.subject)
        .execute();
      return { user: { ...linked, role, display_name: displayName }, created: false };
    }
    const name = await this.freeNameFor(input.preferredName, `${input.issuer} ${input.subject}`);
    const user: User = {
      id: randomUUID(),
      name,
      display_name: displayName,
      password_hash: null,
      role,
      disabled: 0,
      created_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(user).execute();
      await trx
        .insertInto('user_identities')
        .values({ issuer: input.issuer, subject: input.subject, user_id: user.id, created_at: now, last_sign_in_at: now })
        .execute();
    });
    return { user, created: true };
  }

  /** A user name not yet taken, made from `wanted` (or from a hash of `seed` when that is not usable or taken). */
  private async freeNameFor(wanted: string, seed: string): Promise<string> {
    const cleaned = wanted.replace(/[^a-zA-Z0-9._@-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'user';
    if (!(await this.findByName(cleaned))) return cleaned;
    const digest = createHash('sha256').update(seed).digest('hex');
    for (const length of [6, 10, 16]) {
      const candidate = `${cleaned}-${digest.slice(0, length)}`;
      if (!(await this.findByName(candidate))) return candidate;
    }
    return `${cleaned}-${randomUUID()}`.slice(0, 64);
  }

  private async updateByName(name: string, values: Partial<Pick<User, 'password_hash' | 'role' | 'disabled'>>) {
    const result = await this.db.updateTable('users').set(values).where('name', '=', name).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new UnknownUserError(name);
  }
}
