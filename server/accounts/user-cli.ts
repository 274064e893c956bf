/**
 * `npm run user -- COMMAND`: manage Floe's users in the same database the server uses (the
 * FLOE_DATA_DIR SQLite file, or DATABASE_URL). Passwords are read from standard input
 * (--password-stdin, first line) or asked for twice on the terminal without echo; never taken
 * from the command line, where other users of the machine could read them. Exit status: 0 done,
 * 1 refused (unknown user, name taken, weak password…), 2 wrong usage. Every change is written
 * to the audit log as `cli:<os user>`.
 */
import os from 'node:os';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { ZodError } from 'zod';
import { loadConfig } from '../config';
import { openDatabase } from '../db/database';
import type { Role } from '../db/schema';
import { Accounts, RoleSchema, UserNameSchema } from './accounts';
import { SignInSessions, sessionPolicyFromEnv } from './sign-in-sessions';
import { SignInThrottle } from './sign-in-throttle';
import { UserAdmin } from './user-admin';

export const USAGE = `Usage: npm run user -- COMMAND

Commands:
  add NAME [--role user|helpdesk|admin] [--display-name TEXT] [--password-stdin]
                        add a user (role "user" unless given)
  passwd NAME [--password-stdin]
                        set a new password (ends the user's sign-in sessions)
  role NAME ROLE        change the role: user, helpdesk or admin
  disable NAME          refuse the user's sign-ins and end their sessions
  enable NAME           allow the user to sign in again
  unlock NAME           forget failed sign-ins and lift a sign-in lock
  list                  list every user

The password is read from standard input with --password-stdin (first line), otherwise asked
for on the terminal. It is never taken from the command line.`;

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}
class RefusedError extends Error {}

interface Parsed {
  command: string;
  args: string[];
  options: Map<string, string | true>;
}

const OPTIONS_WITH_VALUE = new Set(['--role', '--display-name']);
const FLAGS = new Set(['--password-stdin']);

function parse(argv: string[]): Parsed {
  const [command = 'help', ...rest] = argv;
  const args: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg.startsWith('--')) {
      const [key, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
      if (key === '--password') throw new UsageError('Passwords are not taken from the command line: use --password-stdin, or leave it out to be asked.');
      if (FLAGS.has(key)) options.set(key, true);
      else if (OPTIONS_WITH_VALUE.has(key)) {
        const value = inline ?? rest[++i];
        if (value === undefined) throw new UsageError(`${key} needs a value.`);
        options.set(key, value);
      } else throw new UsageError(`Unknown option ${key}.`);
    } else args.push(arg);
  }
  return { command, args, options };
}

function expectArgs(parsed: Parsed, names: string[]): string[] {
  if (parsed.args.length !== names.length) {
    throw new UsageError(`"${parsed.command}" takes ${names.map((n) => n.toUpperCase()).join(' ')}${parsed.args.length > names.length ? ', nothing more' : ''}.`);
  }
  return parsed.args;
}

function userName(name: string): string {
  const parsed = UserNameSchema.safeParse(name);
  if (!parsed.success) throw new RefusedError(`Bad user name "${name}": ${parsed.error.issues[0]?.message}.`);
  return parsed.data;
}

function role(value: string): Role {
  const parsed = RoleSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`Unknown role "${value}": use user, helpdesk or admin.`);
  return parsed.data;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk.toString();
    if (text.length > 64 * 1024) throw new RefusedError('Standard input is too long for a password.');
  }
  return text;
}

/** Asks on the terminal without echoing what is typed. */
async function askHidden(io: CliIo, question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) io.stdout.write(chunk);
      done();
    },
  });
  const rl = readline.createInterface({ input: io.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.question(question, (answer) => resolve(answer));
      rl.once('close', () => reject(new RefusedError('No password given.')));
      muted = true;
    });
  } finally {
    muted = false;
    io.stdout.write('\n');
    rl.close();
  }
}

async function readPassword(io: CliIo, parsed: Parsed, name: string): Promise<string> {
  if (parsed.options.has('--password-stdin')) {
    const password = (await readAll(io.stdin)).split(/\r?\n/)[0] ?? '';
    if (!password) throw new RefusedError('No password on standard input.');
    return password;
  }
  if (!io.stdin.isTTY) throw new UsageError('There is no terminal to ask for the password: pipe it in with --password-stdin.');
  const first = await askHidden(io, `New password for ${name}: `);
  const second = await askHidden(io, 'Same password again: ');
  if (first !== second) throw new RefusedError('The two passwords differ; nothing was changed.');
  return first;
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
}

/** Runs one command; returns the exit status. */
export async function runUserCli(argv: string[], io: CliIo): Promise<number> {
  const say = (line: string) => io.stdout.write(`${line}\n`);
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (['help', '--help', '-h'].includes(parsed.command)) {
    say(USAGE);
    return 0;
  }
  const known = ['add', 'passwd', 'role', 'disable', 'enable', 'unlock', 'list'];
  if (!known.includes(parsed.command)) {
    io.stderr.write(`Unknown command "${parsed.command}".\n\n${USAGE}\n`);
    return 2;
  }

  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    const config = loadConfig(io.env);
    database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
    const db = database.db;
    const accounts = new Accounts(db);
    const throttle = new SignInThrottle(db);
    const admin = new UserAdmin(db, new SignInSessions(db, sessionPolicyFromEnv(io.env)), throttle);
    const actor = `cli:${os.userInfo().username}`;

    switch (parsed.command) {
      case 'add': {
        const [raw] = expectArgs(parsed, ['name']);
        const name = userName(raw!);
        const wanted = role(String(parsed.options.get('--role') ?? 'user'));
        if (await accounts.findByName(name)) throw new RefusedError(`A user named "${name}" already exists.`);
        const password = await readPassword(io, parsed, name);
        const displayName = parsed.options.get('--display-name');
        await admin.add(actor, { name, password, role: wanted, displayName: typeof displayName === 'string' ? displayName : undefined });
        say(`Added ${name} (${wanted}).`);
        return 0;
      }
      case 'passwd': {
        const [raw] = expectArgs(parsed, ['name']);
        const user = await admin.existing(userName(raw!));
        if (await admin.issuerOf(user.id)) throw new RefusedError(`${user.name} signs in through OIDC; Floe keeps no password for them.`);
        const password = await readPassword(io, parsed, user.name);
        const { sessionsEnded: ended } = await admin.setPassword(actor, user.name, password);
        say(`Changed the password of ${user.name}${ended ? `; ended ${ended} sign-in session${ended === 1 ? '' : 's'}` : ''}.`);
        return 0;
      }
      case 'role': {
        const [raw, rawRole] = expectArgs(parsed, ['name', 'role']);
        const wanted = role(rawRole!);
        const { from, oidc } = await admin.setRole(actor, userName(raw!), wanted);
        say(`${userName(raw!)} is now ${wanted} (was ${from}).`);
        if (oidc) say('Note: this user signs in through OIDC; their next sign-in sets the role from the groups claim again.');
        return 0;
      }
      case 'disable':
      case 'enable': {
        const [raw] = expectArgs(parsed, ['name']);
        const name = userName(raw!);
        const disable = parsed.command === 'disable';
        const ended = await admin.setDisabled(actor, name, disable);
        say(disable ? `Disabled ${name}${ended ? `; ended ${ended} sign-in session${ended === 1 ? '' : 's'}` : ''}.` : `Enabled ${name}.`);
        return 0;
      }
      case 'unlock': {
        const [raw] = expectArgs(parsed, ['name']);
        const name = userName(raw!);
        const had = await admin.unlock(actor, name);
        say(had ? `Forgot the failed sign-ins of ${name}; they may sign in again.` : `${name} had no failed sign-ins to forget.`);
        return 0;
      }
      case 'list': {
        expectArgs(parsed, []);
        const users = await accounts.listUsers();
        if (users.length === 0) {
          say('No users yet. Add one with: npm run user -- add NAME --role admin');
          return 0;
        }
        const rows = [['NAME', 'ROLE', 'STATUS', 'SIGN-IN', 'CREATED (UTC)']];
        for (const u of users) {
          const locked = await throttle.accountLockedUntil(u.name);
          const status = u.disabled ? 'disabled' : locked ? `locked until ${when(locked).slice(11)}` : 'enabled';
          rows.push([u.name, u.role, status, u.identityIssuer ? 'oidc' : 'password', when(u.created_at)]);
        }
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const r of rows) say(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
        return 0;
      }
    }
    return 2;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    const message =
      error instanceof ZodError ? error.issues.map((i) => i.message).join('; ') : error instanceof Error ? error.message : String(error);
    io.stderr.write(`floe user: ${message.replace(/\.?$/, '.')}\n`);
    return 1;
  } finally {
    await database?.close();
  }
}
