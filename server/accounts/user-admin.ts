/**
 * Managing people's accounts, the one way both the `npm run user` CLI and the admin users page
 * (/admin/users) do it: add, set or reset a password, change the role, disable and enable (which
 * ends their sign-in sessions), unlock after failed sign-ins, and list and look up people with
 * their sign-ins. Every change is written to the audit log under the given actor. Users an OIDC
 * provider signs in have no password here: setting one is refused.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAudit } from '../db/audit';
import type { Database, Role, SignInSession, User } from '../db/schema';
import { Accounts, RoleSchema, UnknownUserError, UserExistsError, UserNameSchema } from './accounts';
import type { SignInSessions } from './sign-in-sessions';
import type { SignInThrottle } from './sign-in-throttle';
import type { Words } from '../words';

/** A request the admin may fix: `field` names the input it is about (for field errors), `words` what the page says. */
export class UserAdminError extends Error {
  constructor(
    message: string,
    readonly field: string | undefined,
    readonly words: Words,
  ) {
    super(message);
    this.name = 'UserAdminError';
  }
}

export interface UserSummary {
  id: string;
  name: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  /** The OIDC issuer that signs this person in, or null for a password account. */
  issuer: string | null;
  lockedUntil: number | null;
  createdAt: number;
}

/** A new password made for a reset or a new account: shown once, never stored in plain text. */
export function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}

export class UserAdmin {
  private readonly accounts: Accounts;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sessions: SignInSessions,
    private readonly throttle: SignInThrottle,
  ) {
    this.accounts = new Accounts(db);
  }

  private audit(actor: string, action: string, target: string, detail?: Record<string, unknown>) {
    return recordAudit(this.db, { actor, action, target, detail });
  }

  async existing(name: string): Promise<User> {
    const user = await this.accounts.findByName(name);
    if (!user) throw new UnknownUserError(name);
    return user;
  }

  async issuerOf(userId: string): Promise<string | null> {
    const row = await this.db.selectFrom('user_identities').select('issuer').where('user_id', '=', userId).executeTakeFirst();
    return row?.issuer ?? null;
  }

  private async summaryOf(user: User, issuer: string | null): Promise<UserSummary> {
    return {
      id: user.id,
      name: user.name,
      displayName: user.display_name,
      role: user.role,
      disabled: user.disabled === 1,
      issuer,
      lockedUntil: await this.throttle.accountLockedUntil(user.name),
      createdAt: user.created_at,
    };
  }

  /** People whose name or display name contains `search`, by name, one page at a time. */
  async list(input: { search?: string; page?: number; pageSize?: number }): Promise<{ users: UserSummary[]; total: number; page: number; pages: number }> {
    const pageSize = input.pageSize ?? 25;
    const text = (input.search ?? '').trim().toLowerCase();
    let query = this.db.selectFrom('users').leftJoin('user_identities', 'user_identities.user_id', 'users.id');
    if (text) {
      const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) =>
        eb.or([eb(eb.fn('lower', ['users.name']), 'like', eb.val(like)), eb(eb.fn('lower', ['users.display_name']), 'like', eb.val(like))]),
      );
    }
    const { count } = await query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    const total = Number(count);
    const pages = Math.max(1, Math.ceil(total / pageSize));
    const page = Math.min(Math.max(1, input.page ?? 1), pages);
    const rows = await query
      .selectAll('users')
      .select('user_identities.issuer as issuer')
      .orderBy('users.name')
      .limit(pageSize)
      .offset((page - 1) * pageSize)
      .execute();
    const users = await Promise.all(rows.map((row) => this.summaryOf(row, row.issuer)));
    return { users, total, page, pages };
  }

  /** One person with their last sign-ins (newest first), or null when there is no such user. */
  async detail(name: string, signIns = 20): Promise<{ user: UserSummary; signIns: SignInSession[] } | null> {
    const user = await this.accounts.findByName(name);
    if (!user) return null;
    const rows = await this.db
      .selectFrom('sign_in_sessions')
      .selectAll()
      .where('user_id', '=', user.id)
      .orderBy('started_at', 'desc')
      .limit(signIns)
      .execute();
    return { user: await this.summaryOf(user, await this.issuerOf(user.id)), signIns: rows };
  }

  /** Adds a user; without a password one is generated and returned (to be shown once). */
  async add(actor: string, input: { name: string; role: Role; displayName?: string; password?: string }): Promise<{ user: User; password: string }> {
    const name = UserNameSchema.safeParse(input.name);
    if (!name.success) {
      const issue = name.error.issues[0];
      const words: Words = issue?.code === 'too_small' ? { code: 'nameRequired' } : issue?.code === 'too_big' ? { code: 'nameTooLong' } : { code: 'nameCharacters' };
      throw new UserAdminError(`The user name is not usable: ${issue?.message}.`, 'name', words);
    }
    const taken = await this.accounts.findByName(name.data);
    if (taken) {
      const exists = new UserExistsError(name.data);
      throw new UserAdminError(exists.message, 'name', exists.words);
    }
    const role = RoleSchema.parse(input.role);
    const password = input.password ?? generatePassword();
    const displayName = input.displayName?.trim() || undefined;
    const user = await this.accounts.addUser({ name: name.data, password, role, displayName });
    await this.audit(actor, 'user added', user.name, { role });
    return { user, password };
  }

  /** Sets a password (a generated one when not given) and ends the user's sign-in sessions. */
  async setPassword(actor: string, name: string, given?: string): Promise<{ password: string; sessionsEnded: number }> {
    const user = await this.existing(name);
    if (await this.issuerOf(user.id)) throw new UserAdminError(`${user.name} signs in through OIDC; Floe keeps no password for them.`, undefined, {
        code: 'oidcNoPassword',
        params: { name: user.name },
      });
    const password = given ?? generatePassword();
    await this.accounts.setPassword(user.name, password);
    const sessionsEnded = await this.sessions.endAllOf(user.id, 'password changed');
    await this.audit(actor, given === undefined ? 'password reset' : 'password changed', user.name, { sessionsEnded });
    return { password, sessionsEnded };
  }

  /** Changes the role; returns the old one and whether the user signs in through OIDC (whose groups set it again). */
  async setRole(actor: string, name: string, role: Role): Promise<{ from: Role; oidc: boolean }> {
    const user = await this.existing(name);
    const wanted = RoleSchema.parse(role);
    await this.accounts.setRole(user.name, wanted);
    await this.audit(actor, 'role changed', user.name, { from: user.role, to: wanted });
    return { from: user.role, oidc: (await this.issuerOf(user.id)) !== null };
  }

  /** Disables (ending their sign-in sessions) or enables a user; returns how many sessions ended. */
  async setDisabled(actor: string, name: string, disabled: boolean): Promise<number> {
    const user = await this.existing(name);
    await this.accounts.setDisabled(user.name, disabled);
    const ended = disabled ? await this.sessions.endAllOf(user.id, 'account disabled') : 0;
    await this.audit(actor, disabled ? 'user disabled' : 'user enabled', user.name, disabled ? { sessionsEnded: ended } : undefined);
    return ended;
  }

  /** Forgets the failed sign-ins of a name; true when there were any. */
  async unlock(actor: string, name: string): Promise<boolean> {
    const had = await this.throttle.unlockAccount(name);
    await this.audit(actor, 'sign-in unlocked', name);
    return had;
  }
}
