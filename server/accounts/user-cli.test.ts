/**
 * The `npm run user` CLI, run as a real child process against a temp FLOE_DATA_DIR (the same
 * database a server there would use): add with a password on stdin, list, role, passwd,
 * disable/enable (ending sign-in sessions), unlock, and clear refusals with non-zero exits.
 * The terminal prompt is driven in-process with a stream posing as a terminal, to prove the
 * password is not echoed. Each test has a data folder of its own and adds the accounts it needs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../db/database';
import { Accounts } from './accounts';
import { SignInSessions } from './sign-in-sessions';
import { SignInThrottle } from './sign-in-throttle';
import { runUserCli } from './user-cli';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('npm run user', () => {
  let dataDir: string;
  const dataDirs: string[] = [];
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-cli-'));
    dataDirs.push(dataDir);
  });
  after(() => {
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  function cli(args: string[], stdin?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const { DATABASE_URL: _ignored, ...env } = process.env;
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/user.ts', ...args], {
        cwd: repoRoot,
        env: { ...env, FLOE_DATA_DIR: dataDir, FLOE_LOG_LEVEL: 'silent' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin ?? '');
    });
  }

  async function withDatabase<T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
    const database = await openDatabase({ dataDir });
    try {
      return await work(database);
    } finally {
      await database.close();
    }
  }

  /** Adds carol (helpdesk, password carol-password-1) through the CLI. */
  async function addCarol(): Promise<Run> {
    const run = await cli(['add', 'carol', '--role', 'helpdesk', '--display-name', 'Carol Diaz', '--password-stdin'], 'carol-password-1\n');
    assert.equal(run.code, 0, run.stderr);
    return run;
  }

  test('add reads the password from stdin; the account signs in with it', async () => {
    const run = await addCarol();
    assert.equal(run.stdout.trim(), 'Added carol (helpdesk).');
    await withDatabase(async ({ db }) => {
      const accounts = new Accounts(db);
      const user = await accounts.verifyCredentials('carol', 'carol-password-1');
      assert.equal(user?.role, 'helpdesk');
      assert.equal(user?.display_name, 'Carol Diaz');
      const audit = await db.selectFrom('audit_log').select(['actor', 'action', 'target']).execute();
      assert.deepEqual(audit, [{ actor: `cli:${os.userInfo().username}`, action: 'user added', target: 'carol' }]);
    });
  });

  test('list shows users, roles and status', async () => {
    await addCarol();
    const run = await cli(['list']);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+ROLE\s+STATUS\s+SIGN-IN\s+CREATED/);
    assert.match(lines[1]!, /^carol\s+helpdesk\s+enabled\s+password\s+\d{4}-\d\d-\d\d \d\d:\d\d$/);
  });

  test('role, passwd, disable and enable change the account; passwd and disable end its sessions', async () => {
    await addCarol();
    const sessionId = await withDatabase(async ({ db }) => {
      const user = await new Accounts(db).findByName('carol');
      return (await new SignInSessions(db, { lifetimeMs: 3_600_000, idleMs: 0, touchEveryMs: 1000 }).start({ userId: user!.id, method: 'password' })).id;
    });
    let run = await cli(['role', 'carol', 'admin']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'carol is now admin (was helpdesk).');

    run = await cli(['passwd', 'carol', '--password-stdin'], 'carol-password-2\r\nignored second line\n');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'Changed the password of carol; ended 1 sign-in session.');

    run = await cli(['disable', 'carol']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'Disabled carol.');
    assert.match((await cli(['list'])).stdout, /carol\s+admin\s+disabled/);

    await withDatabase(async ({ db }) => {
      const accounts = new Accounts(db);
      assert.equal(await accounts.verifyCredentials('carol', 'carol-password-2'), undefined, 'disabled');
      const sessions = new SignInSessions(db, { lifetimeMs: 3_600_000, idleMs: 0, touchEveryMs: 1000 });
      assert.deepEqual(await sessions.check(sessionId), { ok: false, reason: 'ended' });
    });
    run = await cli(['enable', 'carol']);
    assert.equal(run.code, 0, run.stderr);
    await withDatabase(async ({ db }) => {
      const user = await new Accounts(db).verifyCredentials('carol', 'carol-password-2');
      assert.equal(user?.role, 'admin');
    });
  });

  test('unlock lifts a sign-in lock', async () => {
    await addCarol();
    await withDatabase(async ({ db }) => {
      const throttle = new SignInThrottle(db);
      // Five failures a minute apart (no waits in the way): the account locks.
      let now = Date.now() - 10 * 60_000;
      const clocked = new SignInThrottle(db, undefined, () => now);
      for (let i = 0; i < 5; i++) {
        const begin = await clocked.begin({ name: 'carol' });
        assert.ok(begin.ok);
        await begin.attempt.failed();
        now += 60_000;
      }
      assert.ok(await throttle.accountLockedUntil('carol'));
    });
    assert.match((await cli(['list'])).stdout, /carol\s+helpdesk\s+locked until \d\d:\d\d/);
    const run = await cli(['unlock', 'carol']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'Forgot the failed sign-ins of carol; they may sign in again.');
    await withDatabase(async ({ db }) => assert.equal(await new SignInThrottle(db).accountLockedUntil('carol'), null));
  });

  test('refusals: clear words on stderr, exit 1; wrong usage exits 2', async () => {
    await addCarol();
    const cases: [string[], string | undefined, number, RegExp][] = [
      [['add', 'carol', '--password-stdin'], 'another-password\n', 1, /A user named "carol" already exists\./],
      [['add', 'dan', '--password-stdin'], 'short\n', 1, /a password has at least 8 characters/],
      [['add', 'dan', '--password-stdin'], '', 1, /No password on standard input\./],
      [['add', 'bad name!', '--password-stdin'], 'long-enough-pw\n', 1, /Bad user name "bad name!"/],
      [['add', 'dan'], undefined, 2, /There is no terminal to ask for the password: pipe it in with --password-stdin\./],
      [['add', 'dan', '--password', 'hunter22'], undefined, 2, /Passwords are not taken from the command line/],
      [['add', 'dan', '--role', 'root', '--password-stdin'], 'long-enough-pw\n', 2, /Unknown role "root"/],
      [['passwd', 'nobody', '--password-stdin'], 'long-enough-pw\n', 1, /There is no user named "nobody"\./],
      [['role', 'carol'], undefined, 2, /"role" takes NAME ROLE/],
      [['disable'], undefined, 2, /"disable" takes NAME/],
      [['frobnicate'], undefined, 2, /Unknown command "frobnicate"/],
      [['list', '--verbose'], undefined, 2, /Unknown option --verbose/],
    ];
    for (const [args, stdin, code, message] of cases) {
      const run = await cli(args, stdin);
      assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    assert.equal((await cli(['help'])).code, 0);
    await withDatabase(async ({ db }) => assert.equal(await new Accounts(db).findByName('dan'), undefined, 'nothing was added'));
  });

  test('on a terminal the password is asked twice and never echoed', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    let shown = '';
    stdout.on('data', (c: Buffer) => (shown += c.toString()));
    const done = runUserCli(['add', 'erin'], { stdin, stdout, stderr: stdout, env: { ...process.env, FLOE_DATA_DIR: dataDir, DATABASE_URL: '' } });
    // Answer each prompt once it is shown.
    const answer = async (prompt: string) => {
      while (!shown.includes(prompt)) await new Promise((resolve) => stdout.once('data', resolve));
      stdin.write('typed-secret-9\n');
    };
    await answer('New password for erin: ');
    await answer('Same password again: ');
    assert.equal(await done, 0, shown);
    assert.ok(!shown.includes('typed-secret-9'), `the password was echoed: ${JSON.stringify(shown)}`);
    assert.match(shown, /Added erin \(user\)\./);
    await withDatabase(async ({ db }) => assert.ok(await new Accounts(db).verifyCredentials('erin', 'typed-secret-9')));
  });
});
