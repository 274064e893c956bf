/**
 * Floe's own user accounts: names, roles and argon2id password hashes (never plain text).
 * Sign-in (next-auth's credentials provider) and the `npm run user` CLI both come here.
 */
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database, Role, User } from '../db/schema';

export const RoleSchema = z.enum(['user', 'helpdesk', 'admin']);
export const UserNameSchema = z
  .string()
  .min(1, 'a user name is required')
  .max(64, 'a user name has at most 64 characters')
  .regex(/^[a-zA-Z0-9._@-]+$/, 'a user name may use letters, digits and . _ @ -');
export const PasswordSchema = z.string().min(8, 'a password has at least 8 characters').max(256);

export class UserExistsError extends Error {
  constructor(name: string) {
    super(`A user named "${name}" already exists.`);
    this.name = 'UserExistsError';
  }
}

export class UnknownUserError extends Error {
  constructor(name: string) {
    super(`There is no user named "${name}".`);
    this.name = 'UnknownUserError';
  }
}

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
    const user = await this.findByName(name);
    const stored = user?.password_hash ?? (await (decoyHash ??= hash('decoy password for timing')));
    const matches = await verify(stored, password).catch(() => false);
    if (!user || !user.password_hash || !matches || user.disabled) return undefined;
    return user;
  }

  private async updateByName(name: string, values: Partial<Pick<User, 'password_hash' | 'role' | 'disabled'>>) {
    const result = await this.db.updateTable('users').set(values).where('name', '=', name).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new UnknownUserError(name);
  }
}
