/**
 * Sign-in throttling against a real database with a hand-moved clock: free failures, then
 * waits, then a lock with the words the form shows; a lock that ends; a window that forgets;
 * per-address counting across accounts; success forgetting an account's failures; a parallel
 * burst that cannot get more password checks than the limit; and the counts surviving a new
 * SignInThrottle on the same database (a restart or another replica).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { FloeDatabase } from '../db/database';
import { DEFAULT_THROTTLE_POLICY, SignInThrottle, throttlePolicyFromEnv } from './sign-in-throttle';
import { ManualClock, freshDatabase } from './testing';

const MINUTE = 60_000;

describe('sign-in throttle', () => {
  let database: FloeDatabase;
  let clock: ManualClock;
  let throttle: SignInThrottle;

  before(async () => {
    database = await freshDatabase();
  });
  after(async () => {
    await database.close();
  });
  beforeEach(async () => {
    await database.db.deleteFrom('sign_in_throttle').execute();
    clock = new ManualClock();
    throttle = new SignInThrottle(database.db, DEFAULT_THROTTLE_POLICY, clock.now);
  });

  /** One attempt that fails; returns what the failure caused (or the refusal at the start). */
  async function fail(name: string, address = '192.0.2.1') {
    const begin = await throttle.begin({ name, address });
    if (!begin.ok) return { refused: begin.refusal };
    return { caused: await begin.attempt.failed() };
  }

  test('two free failures, then growing waits, then a 15-minute lock on the fifth', async () => {
    assert.deepEqual(await fail('alice'), { caused: undefined });
    assert.deepEqual(await fail('alice'), { caused: undefined });
    const third = await fail('alice');
    assert.equal(third.caused?.reason, 'wait');
    assert.equal(third.caused?.retryAfterMs, 2000);

    // Too soon: refused without a password check, and not counted.
    const early = await fail('alice');
    assert.equal(early.refused?.reason, 'wait');
    assert.equal(early.refused?.message, 'Too many failed sign-ins. Please wait 2 seconds and try again.');

    clock.advance(2000);
    const fourth = await fail('alice');
    assert.equal(fourth.caused?.reason, 'wait');
    assert.equal(fourth.caused?.retryAfterMs, 4000);
    clock.advance(4000);
    const fifth = await fail('alice');
    assert.equal(fifth.caused?.reason, 'locked');
    assert.equal(fifth.caused?.kind, 'account');
    assert.equal(fifth.caused?.message, 'Too many failed sign-ins for this account. Try again in 15 minutes.');

    clock.advance(5 * MINUTE);
    const locked = await throttle.begin({ name: 'Alice', address: '198.51.100.7' });
    assert.equal(locked.ok, false);
    assert.equal(!locked.ok && locked.refusal.message, 'Too many failed sign-ins for this account. Try again in 10 minutes.');
    assert.equal(await throttle.accountLockedUntil('alice'), clock.ms + 10 * MINUTE);

    // The lock ends; counting starts afresh.
    clock.advance(10 * MINUTE);
    assert.equal(await throttle.accountLockedUntil('alice'), null);
    assert.deepEqual(await fail('alice'), { caused: undefined });
  });

  test('a success forgets the account’s failures', async () => {
    await fail('bob');
    await fail('bob');
    const begin = await throttle.begin({ name: 'bob', address: '192.0.2.1' });
    assert.ok(begin.ok);
    await begin.attempt.succeeded();
    assert.deepEqual(await fail('bob'), { caused: undefined }, 'the count started again');
  });

  test('failures older than the window are forgotten', async () => {
    await fail('carol');
    await fail('carol');
    clock.advance(16 * MINUTE);
    assert.deepEqual(await fail('carol'), { caused: undefined });
    assert.deepEqual(await fail('carol'), { caused: undefined });
  });

  test('one address failing on many accounts is slowed and then locked', async () => {
    const address = '203.0.113.9';
    let last;
    for (let i = 0; i < 30; i++) {
      last = await fail(`user${i}`, address);
      assert.equal(last.refused, undefined, `attempt ${i + 1} reached the password check`);
      if (last.caused?.reason === 'wait') clock.advance(last.caused.retryAfterMs);
    }
    assert.equal(last?.caused?.reason, 'locked');
    assert.equal(last?.caused?.kind, 'address');
    const next = await throttle.begin({ name: 'someone-new', address });
    assert.equal(!next.ok && next.refusal.message, 'Too many failed sign-ins from your network address. Try again in 15 minutes.');
    // Another address is not affected.
    assert.equal((await throttle.begin({ name: 'someone-new', address: '203.0.113.10' })).ok, true);
  });

  test('a parallel burst gets at most the limit of password checks', async () => {
    const attempts = await Promise.all(Array.from({ length: 20 }, () => throttle.begin({ name: 'dave', address: '192.0.2.50' })));
    const admitted = attempts.filter((a) => a.ok);
    assert.equal(admitted.length, DEFAULT_THROTTLE_POLICY.account.maxFailures);
    for (const a of attempts) if (!a.ok) assert.equal(a.refusal.reason, 'locked');
    for (const a of admitted) if (a.ok) await a.attempt.failed();
    assert.ok((await throttle.accountLockedUntil('dave')) !== null);
  });

  test('counts live in the database: a new throttle (restart, other replica) sees the lock', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fail('erin');
      if (r.caused?.reason === 'wait') clock.advance(r.caused.retryAfterMs);
    }
    const other = new SignInThrottle(database.db, DEFAULT_THROTTLE_POLICY, clock.now);
    const begin = await other.begin({ name: 'erin' });
    assert.equal(begin.ok, false);
    assert.equal(await other.unlockAccount('erin'), true);
    assert.equal((await other.begin({ name: 'erin' })).ok, true);
  });

  test('settings from the environment', () => {
    const policy = throttlePolicyFromEnv({ FLOE_SIGN_IN_MAX_FAILURES: '3', FLOE_SIGN_IN_LOCK_MINUTES: '2' });
    assert.equal(policy.account.maxFailures, 3);
    assert.equal(policy.account.freeFailures, 2);
    assert.equal(policy.account.lockMs, 2 * MINUTE);
    assert.throws(() => throttlePolicyFromEnv({ FLOE_SIGN_IN_MAX_FAILURES: 'many' }), /FLOE_SIGN_IN_MAX_FAILURES/);
    assert.throws(() => throttlePolicyFromEnv({ FLOE_SIGN_IN_LOCK_MINUTES: '-1' }), /FLOE_SIGN_IN_LOCK_MINUTES/);
  });
});
