/**
 * docs/deploy.md section 6's PostgreSQL backup and restore, run as written against a real Floe
 * (production build) on the test PostgreSQL: the document's pg_dump while Floe runs, a change
 * after it (a new account), the document's restore with Floe stopped, then Floe again: the change
 * is gone, and a sign-in from before the backup still holds (its record and the sign-in key, the
 * `settings` row auth-secret, are in the dump). The document's paths become the test's own; its
 * `systemctl stop/start floe` are this test stopping and starting Floe.
 * Run by scripts/test.sh in the PostgreSQL stage of real servers (not a *.test.ts: the SQLite
 * stage must not run it); it fails at once when FLOE_TEST_DATABASE_URL names no PostgreSQL.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openTestDatabase } from '../server/db/test-database';
import { type StartedFloe, qemuProcessesUnder, signInCookie, startFloe, stopFloe } from '../scripts/floe-process';
import { adapt, changeAfterBackup, fencedBlock } from './deploy-doc-blocks';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let dir: string;
let floe: StartedFloe | undefined;
const password = 'postgres-backup-test-pw';

/**
 * Floe on the test database, with one pool that starts no VM: no spares, and cold boots only (an
 * instant-clone pool would boot its template VM to save a snapshot, and Floe stops here often).
 */
function start(): Promise<StartedFloe> {
  return startFloe(path.join(dir, 'data'), password, {
    env: { DATABASE_URL: process.env.FLOE_TEST_DATABASE_URL!, FLOE_POOLS_FILE: path.join(dir, 'pools.json') },
  });
}

before(async () => {
  database = await openTestDatabase();
  assert.equal(database.engine, 'postgres', 'the PostgreSQL backup test runs on PostgreSQL only (set FLOE_TEST_DATABASE_URL)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-pg-backup-'));
  fs.mkdirSync(path.join(dir, 'backup'));
  fs.writeFileSync(path.join(dir, 'pools.json'), JSON.stringify({ pools: [{ name: 'kiosk', title: 'Kiosk', kind: 'stateless', template: 'demo', spares: 0, instant: false }] }));
  // The environment file the document reads DATABASE_URL from.
  fs.writeFileSync(path.join(dir, 'floe.env'), `DATABASE_URL=${process.env.FLOE_TEST_DATABASE_URL}\n`, { mode: 0o600 });
  floe = await start();
});

after(async () => {
  if (floe) await stopFloe(floe);
  if (dir) {
    const left = qemuProcessesUnder(dir);
    for (const pid of left) process.kill(pid, 'SIGKILL'); // reported below, but not left running
    fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no QEMU process was started by this test');
  }
  await database?.close();
});

/** A document block with its paths made the test's: /etc/floe/floe.env and /backup/. */
const runnable = (block: string) => adapt(adapt(block, '/etc/floe/floe.env', path.join(dir, 'floe.env')), '/backup/', `${path.join(dir, 'backup')}/`);

test('backs up PostgreSQL while Floe runs and restores it as docs/deploy.md section 6 says', { timeout: 180_000 }, async () => {
  if (!floe) throw new Error('Floe is not running');
  const admin = await signInCookie(floe.url, 'admin', password);
  execFileSync('sh', ['-e', '-c', runnable(fencedBlock('sh', 'pg_dump '))], { stdio: 'inherit' });
  const dumps = fs.readdirSync(path.join(dir, 'backup'));
  assert.equal(dumps.length, 1, `the backup made one file: ${dumps.join(', ')}`);
  const dump = dumps[0]!;
  assert.match(dump, /^floe-\d{4}-\d{2}-\d{2}\.dump$/);
  assert.equal(fs.statSync(path.join(dir, 'backup', dump)).mode & 0o777, 0o600, 'the dump is readable by its owner only');

  // A change after the backup: a new account, which the restore must take away.
  const exists = await changeAfterBackup(floe.url, admin);

  const lines = fencedBlock('sh', 'pg_restore ').split('\n');
  const systemctl = lines.filter((line) => line.startsWith('systemctl'));
  assert.deepEqual(systemctl, ['systemctl stop floe', 'systemctl start floe'], 'the restore stops Floe first and starts it last');
  assert.ok(lines.indexOf('systemctl stop floe') < lines.findIndex((line) => line.startsWith('pg_restore ')), 'Floe is stopped before the restore');
  let restore = lines.filter((line) => !line.startsWith('systemctl')).join('\n');
  restore = adapt(runnable(restore), /^dump=\S+/m, `dump=${path.join(dir, 'backup', dump)}`);
  await stopFloe(floe);
  floe = undefined;
  execFileSync('sh', ['-e', '-c', restore], { stdio: 'inherit' });
  floe = await start();
  assert.equal(await exists(floe.url), 404, 'the account made after the backup is gone');
  const me = await fetch(`${floe.url}/api/me`, { headers: { cookie: admin } });
  assert.equal(me.status, 200, 'a sign-in from before the backup still holds (its record and the key are in the dump)');
});
