/**
 * The helpdesk's and admin pages' read-only queries on a real database (SQLite, or PostgreSQL
 * when FLOE_TEST_DATABASE_URL is set) with 1,000 desktops: pages never overlap and cover every
 * desktop, filters by pool, state and person (name or display name, any case, with LIKE's
 * wildcards taken literally), spares, and a person's live and past console sessions; people
 * search by name and display name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { personByName, searchPeople } from '../accounts/people';
import { openTestDatabase } from '../db/test-database';
import type { Desktop, DesktopState, User } from '../db/schema';
import { liveSessionsOfUser, listDesktops, recentSessionsOfUser } from './desktop-queries';

type TestDatabase = Awaited<ReturnType<typeof openTestDatabase>>;
let database: TestDatabase;

const user = (id: string, name: string, displayName: string, role: User['role'] = 'user', disabled = 0): User => ({
  id,
  name,
  display_name: displayName,
  password_hash: null,
  role,
  disabled,
  created_at: 1,
});

const people: User[] = [
  user('u-alice', 'alice', 'Alice Martin'),
  user('u-bob', 'bob', 'Bob Chen'),
  user('u-helen', 'helen', 'Helen Okafor', 'helpdesk'),
  user('u-pct', 'per_cent', '100% Sure', 'user', 1),
];

/** 1,000 desktops: pool "big" (900: 800 assigned to 800 made-up people, 100 ready spares) and pool "small" (100). */
function desktopRows(): Desktop[] {
  const rows: Desktop[] = [];
  const row = (i: number, pool: string, state: DesktopState, user: string | null): Desktop => ({
    id: `${pool}-${String(i).padStart(4, '0')}`,
    pool_name: pool,
    state,
    user_id: user,
    failure_reason: null,
    pid: null,
    spice_host: null,
    spice_port: null,
    accelerator: 'tcg',
    created_at: 1_000_000 + i,
    state_changed_at: 1_000_000 + i,
    booted_at: null,
    assigned_at: null,
    template_version: null,
    driven_by: null,
  });
  for (let i = 0; i < 800; i++) rows.push(row(i, 'big', 'assigned', `u-${i}`));
  for (let i = 800; i < 900; i++) rows.push(row(i, 'big', 'ready', null));
  for (let i = 900; i < 997; i++) rows.push(row(i, 'small', i % 2 ? 'failed' : 'stopped', `u-${i}`));
  rows.push(row(997, 'small', 'assigned', 'u-alice'));
  rows.push(row(998, 'small', 'assigned', 'u-bob'));
  rows.push(row(999, 'small', 'gone', 'u-alice'));
  return rows;
}

before(async () => {
  database = await openTestDatabase();
  const db = database.db;
  const made = Array.from({ length: 1000 }, (_, i) => user(`u-${i}`, `person${i}`, `Person Number ${i}`));
  for (let i = 0; i < made.length; i += 200) await db.insertInto('users').values(made.slice(i, i + 200)).execute();
  await db.insertInto('users').values(people).execute();
  const desktops = desktopRows();
  for (let i = 0; i < desktops.length; i += 100) await db.insertInto('desktops').values(desktops.slice(i, i + 100)).execute();
  const session = (id: string, desktop: string, user: string, started: number, ended: number | null) => ({
    id,
    desktop_id: desktop,
    user_id: user,
    client_address: '10.0.0.5',
    user_agent: 'Test browser',
    started_at: started,
    ended_at: ended,
    bytes_to_desktop: 10,
    bytes_to_browser: 2000,
    end_reason: ended ? 'browser closed' : null,
    taken_over_by: null,
    sign_in_session_id: null,
  });
  const sessions = [session('live-alice', 'small-0997', 'u-alice', 5000, null), session('live-bob', 'small-0998', 'u-bob', 5000, null)];
  // 25 past sessions of alice, one on a desktop that is gone now, one a helpdesk takeover of hers.
  for (let i = 0; i < 25; i++) sessions.push(session(`past-${i}`, i === 0 ? 'small-0999' : 'small-0997', 'u-alice', 1000 + i, 1100 + i));
  sessions.push(session('helen-on-alice', 'small-0997', 'u-helen', 4000, 4500));
  await db.insertInto('console_sessions').values(sessions).execute();
});

after(async () => {
  await database.close();
});

describe('listDesktops', () => {
  test('pages of 50 cover every desktop that is not gone exactly once, newest first', async () => {
    const first = await listDesktops(database.db);
    assert.equal(first.total, 999);
    assert.equal(first.pages, 20);
    assert.equal(first.rows.length, 50);
    assert.equal(first.rows[0]!.id, 'small-0998');
    const seen = new Set<string>();
    for (let page = 1; page <= first.pages; page++) {
      const { rows } = await listDesktops(database.db, { page });
      for (const row of rows) {
        assert.ok(!seen.has(row.id), `${row.id} is on one page only`);
        seen.add(row.id);
      }
    }
    assert.equal(seen.size, 999);
    assert.ok(!seen.has('small-0999'), 'a gone desktop is not listed by default');
  });

  test('a page past the end gives the last page; sizes are bounded', async () => {
    const last = await listDesktops(database.db, { page: 1000 });
    assert.equal(last.page, 20);
    assert.equal(last.rows.length, 49);
    const big = await listDesktops(database.db, { pageSize: 10_000 });
    assert.equal(big.pageSize, 200);
    const zero = await listDesktops(database.db, { page: 0, pageSize: 0 });
    assert.equal(zero.page, 1);
    assert.equal(zero.pageSize, 1);
  });

  test('filters by pool and state, and lists spares', async () => {
    const spares = await listDesktops(database.db, { pool: 'big', state: 'ready' });
    assert.equal(spares.total, 100);
    assert.ok(spares.rows.every((r) => r.state === 'ready' && r.pool_name === 'big' && r.user_id === null));
    const failed = await listDesktops(database.db, { pool: 'small', state: 'failed' });
    assert.equal(failed.total, 48);
    const unowned = await listDesktops(database.db, { user: 'spare' });
    assert.equal(unowned.total, 100);
    const gone = await listDesktops(database.db, { state: 'gone' });
    assert.deepEqual(gone.rows.map((r) => r.id), ['small-0999']);
    assert.equal((await listDesktops(database.db, { pool: 'nope' })).total, 0);
  });

  test('filters by person: name or display name, any case, wildcards taken literally', async () => {
    const alice = await listDesktops(database.db, { user: 'ALICE' });
    assert.deepEqual(alice.rows.map((r) => [r.id, r.user_name, r.user_display_name]), [['small-0997', 'alice', 'Alice Martin']]);
    assert.equal((await listDesktops(database.db, { user: 'chen' })).rows[0]?.user_name, 'bob');
    // "person1" matches person1, person10…19, person100…199: 1 + 10 + 100 people, all with desktops.
    assert.equal((await listDesktops(database.db, { user: 'person1' })).total, 111);
    // "Number 99" matches people 99 and 990…999; 99 has a desktop in "big", 990…996 in "small".
    assert.equal((await listDesktops(database.db, { user: 'Number 99' })).total, 8);
    assert.equal((await listDesktops(database.db, { user: 'Number 99', pool: 'big' })).total, 1);
    assert.equal((await listDesktops(database.db, { user: '%' })).total, 0, '% is not a wildcard');
    assert.equal((await listDesktops(database.db, { user: '_' })).total, 0, '_ is not a wildcard');
  });
});

describe('console sessions of a person', () => {
  test('live sessions: the consoles open on their desktops only', async () => {
    const live = await liveSessionsOfUser(database.db, 'u-alice');
    assert.deepEqual(
      live.map((s) => [s.id, s.desktop_id, s.user_name, s.bytes_to_browser]),
      [['live-alice', 'small-0997', 'alice', 2000]],
    );
  });

  test('history: the last 20 ended sessions, newest first, a helpdesk takeover included', async () => {
    const past = await recentSessionsOfUser(database.db, 'u-alice');
    assert.equal(past.length, 20);
    assert.equal(past[0]!.id, 'helen-on-alice');
    assert.equal(past[0]!.user_display_name, 'Helen Okafor');
    assert.equal(past[0]!.user_role, 'helpdesk');
    assert.equal(past[1]!.id, 'past-24');
    assert.ok(past.every((s) => s.ended_at !== null));
    const all = await recentSessionsOfUser(database.db, 'u-alice', 100);
    assert.equal(all.length, 26);
    assert.ok(all.some((s) => s.desktop_id === 'small-0999'), 'sessions on a desktop that is gone stay in the history');
    assert.deepEqual(await recentSessionsOfUser(database.db, 'u-bob'), []);
  });
});

describe('people', () => {
  test('search by name or display name, any case, exact name first', async () => {
    assert.deepEqual((await searchPeople(database.db, 'alice')).map((p) => p.name), ['alice']);
    assert.deepEqual((await searchPeople(database.db, 'MARTIN')).map((p) => p.name), ['alice']);
    assert.deepEqual((await searchPeople(database.db, 'okafor')).map((p) => [p.name, p.role]), [['helen', 'helpdesk']]);
    const [first, ...rest] = await searchPeople(database.db, 'person1');
    assert.equal(first?.name, 'person1');
    assert.equal(rest.length, 24, 'at most 25 by default');
    assert.deepEqual(await searchPeople(database.db, '   '), []);
  });

  test('each person with their desktops and open consoles counted', async () => {
    const [alice] = await searchPeople(database.db, 'alice');
    assert.equal(alice?.desktops, 1, 'the gone desktop is not counted');
    assert.equal(alice?.liveConsoles, 1);
    const [helen] = await searchPeople(database.db, 'helen');
    assert.equal(helen?.desktops, 0);
    assert.equal(helen?.liveConsoles, 0);
  });

  test('LIKE wildcards in the search are plain characters', async () => {
    assert.deepEqual((await searchPeople(database.db, '100%')).map((p) => [p.name, p.disabled]), [['per_cent', true]]);
    assert.deepEqual((await searchPeople(database.db, 'r_c')).map((p) => p.name), ['per_cent']);
    assert.deepEqual((await searchPeople(database.db, '%')).map((p) => p.name), ['per_cent']);
  });

  test('one person by exact name', async () => {
    assert.equal((await personByName(database.db, 'helen'))?.displayName, 'Helen Okafor');
    assert.equal(await personByName(database.db, 'Helen'), undefined);
    assert.equal(await personByName(database.db, 'nobody'), undefined);
  });
});
