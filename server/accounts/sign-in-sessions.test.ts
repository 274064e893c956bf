/**
 * Sign-in sessions against a real database with a hand-moved clock: a session lives until its
 * lifetime even when used all the time; one left unused for the idle timeout ends (and stays
 * ended); use keeps it alive; sign-out and "end all of a user" end it for every copy of the
 * cookie; the settings come from FLOE_SESSION_HOURS and FLOE_IDLE_MINUTES.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FloeDatabase } from '../db/database';
import { SignInSessions, sessionPolicyFromEnv } from './sign-in-sessions';
import { ManualClock, freshDatabase } from './testing';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('sign-in sessions', () => {
  let database: FloeDatabase;
  before(async () => {
    database = await freshDatabase();
  });
  after(async () => {
    await database.close();
  });

  const make = (clock: ManualClock) =>
    new SignInSessions(database.db, { lifetimeMs: 12 * HOUR, idleMs: 60 * MINUTE, touchEveryMs: MINUTE }, clock.now);

  test('used every half hour, a session still ends at its lifetime', async () => {
    const clock = new ManualClock();
    const sessions = make(clock);
    const { id, expiresAt } = await sessions.start({ userId: 'u1', method: 'password' });
    assert.equal(expiresAt, clock.ms + 12 * HOUR);
    for (let i = 0; i < 23; i++) {
      clock.advance(30 * MINUTE);
      assert.deepEqual(await sessions.check(id), { ok: true, userId: 'u1', expiresAt }, `after ${(i + 1) * 30} minutes`);
    }
    clock.advance(30 * MINUTE);
    assert.deepEqual(await sessions.check(id), { ok: false, reason: 'expired' });
    clock.advance(-HOUR);
    assert.deepEqual(await sessions.check(id), { ok: false, reason: 'ended' }, 'an expired session stays ended');
  });

  test('a session unused for the idle timeout ends', async () => {
    const clock = new ManualClock();
    const sessions = make(clock);
    const { id } = await sessions.start({ userId: 'u2', method: 'password', clientAddress: '192.0.2.1', userAgent: 'test' });
    clock.advance(59 * MINUTE);
    assert.equal((await sessions.check(id)).ok, true);
    clock.advance(59 * MINUTE);
    assert.equal((await sessions.check(id)).ok, true, 'the last use counts, not the sign-in');
    clock.advance(60 * MINUTE);
    assert.deepEqual(await sessions.check(id), { ok: false, reason: 'idle' });
    const row = await database.db.selectFrom('sign_in_sessions').selectAll().where('user_id', '=', 'u2').executeTakeFirstOrThrow();
    assert.equal(row.end_reason, 'idle');
    assert.equal(row.client_address, '192.0.2.1');
    assert.notEqual(row.id, id, 'only a hash of the id is stored');
  });

  test('sign-out ends one session; ending all of a user ends the rest', async () => {
    const clock = new ManualClock();
    const sessions = make(clock);
    const a = await sessions.start({ userId: 'u3', method: 'password' });
    const b = await sessions.start({ userId: 'u3', method: 'oidc' });
    const c = await sessions.start({ userId: 'u3', method: 'password' });
    await sessions.end(a.id);
    assert.deepEqual(await sessions.check(a.id), { ok: false, reason: 'ended' });
    assert.equal((await sessions.check(b.id)).ok, true);
    assert.equal(await sessions.endAllOf('u3', 'account disabled'), 2);
    assert.deepEqual(await sessions.check(b.id), { ok: false, reason: 'ended' });
    assert.deepEqual(await sessions.check(c.id), { ok: false, reason: 'ended' });
  });

  test('made-up or malformed ids are unknown', async () => {
    const sessions = make(new ManualClock());
    for (const id of [undefined, null, 42, '', 'x'.repeat(500), 'not-a-session']) {
      assert.deepEqual(await sessions.check(id), { ok: false, reason: 'unknown' });
    }
  });

  test('settings from the environment', () => {
    assert.deepEqual(sessionPolicyFromEnv({}), { lifetimeMs: 12 * HOUR, idleMs: 60 * MINUTE, touchEveryMs: MINUTE });
    const short = sessionPolicyFromEnv({ FLOE_SESSION_HOURS: '0.5', FLOE_IDLE_MINUTES: '5' });
    assert.equal(short.lifetimeMs, 30 * MINUTE);
    assert.equal(short.idleMs, 5 * MINUTE);
    assert.equal(short.touchEveryMs, 30_000);
    assert.equal(sessionPolicyFromEnv({ FLOE_IDLE_MINUTES: '0' }).idleMs, 0);
    assert.throws(() => sessionPolicyFromEnv({ FLOE_SESSION_HOURS: 'soon' }), /FLOE_SESSION_HOURS/);
    assert.throws(() => sessionPolicyFromEnv({ FLOE_IDLE_MINUTES: '-5' }), /FLOE_IDLE_MINUTES/);
  });
});
