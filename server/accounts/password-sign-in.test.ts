/**
 * Signing in with a name and password, end to end below next-auth: the right password starts a
 * sign-in session and is audited; wrong ones are audited, slowed and then locked with the
 * form's words; a disabled account is refused only once the password is right; missing input
 * never reaches the throttle.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordAudit } from '../db/audit';
import type { FloeDatabase } from '../db/database';
import { Accounts } from './accounts';
import { DISABLED_MESSAGE, MISSING_INPUT_MESSAGE, WRONG_PASSWORD_MESSAGE, signInWithPassword } from './password-sign-in';
import { SignInSessions } from './sign-in-sessions';
import { DEFAULT_THROTTLE_POLICY, SignInThrottle } from './sign-in-throttle';
import { ManualClock, freshDatabase } from './testing';

describe('password sign-in', () => {
  let database: FloeDatabase;
  let deps: Parameters<typeof signInWithPassword>[0];
  const clock = new ManualClock();
  const PASSWORD = 'correct horse battery';

  before(async () => {
    database = await freshDatabase();
    const accounts = new Accounts(database.db);
    await accounts.addUser({ name: 'alice', password: PASSWORD });
    await accounts.addUser({ name: 'bob', password: PASSWORD });
    deps = {
      accounts,
      throttle: new SignInThrottle(database.db, DEFAULT_THROTTLE_POLICY, clock.now),
      sessions: new SignInSessions(database.db, { lifetimeMs: 3_600_000, idleMs: 600_000, touchEveryMs: 1000 }, clock.now),
      audit: (entry) => recordAudit(database.db, entry),
    };
  });
  after(async () => {
    await database.close();
  });

  const audit = () => database.db.selectFrom('audit_log').select(['actor', 'action', 'target', 'detail']).orderBy('id').execute();

  test('the right password starts a session and is audited with the address', async () => {
    const result = await signInWithPassword(deps, { name: ' alice ', password: PASSWORD, clientAddress: '192.0.2.1', userAgent: 'test' });
    assert.ok(result.ok);
    assert.equal(result.user.name, 'alice');
    assert.deepEqual(await deps.sessions.check(result.sessionId), { ok: true, userId: result.user.id, expiresAt: result.expiresAt });
    const last = (await audit()).at(-1);
    assert.deepEqual(last, { actor: 'alice', action: 'sign-in', target: 'alice', detail: JSON.stringify({ method: 'password', address: '192.0.2.1' }) });
  });

  test('wrong passwords: plain message, then a wait, then the lock', async () => {
    const messages: string[] = [];
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await signInWithPassword(deps, { name: 'bob', password: `guess ${i}`, clientAddress: '192.0.2.2' });
      assert.equal(result.ok, false);
      if (!result.ok) {
        messages.push(result.message);
        codes.push(result.code);
      }
      if (i < 4) clock.advance(60_000);
    }
    assert.deepEqual(messages, [
      WRONG_PASSWORD_MESSAGE,
      WRONG_PASSWORD_MESSAGE,
      `${WRONG_PASSWORD_MESSAGE} Please wait 2 seconds before trying again.`,
      `${WRONG_PASSWORD_MESSAGE} Please wait 4 seconds before trying again.`,
      'Too many failed sign-ins for this account. Try again in 15 minutes.',
    ]);
    assert.deepEqual(codes, ['wrong', 'wrong', 'wrong-wait:2', 'wrong-wait:4', 'locked-account:15'], 'the codes the form words');
    // Locked: even the right password is refused, without being checked.
    const locked = await signInWithPassword(deps, { name: 'bob', password: PASSWORD, clientAddress: '192.0.2.2' });
    assert.deepEqual(locked, { ok: false, reason: 'throttled', message: 'Too many failed sign-ins for this account. Try again in 15 minutes.', code: 'locked-account:15' });
    const actions = (await audit()).filter((e) => e.target === 'bob').map((e) => e.action);
    assert.deepEqual(actions, ['sign-in failed', 'sign-in failed', 'sign-in failed', 'sign-in failed', 'sign-in failed', 'sign-in locked']);
    clock.advance(15 * 60_000);
    assert.equal((await signInWithPassword(deps, { name: 'bob', password: PASSWORD })).ok, true, 'the lock ends');
  });

  test('a disabled account is refused, and said so only with the right password', async () => {
    await deps.accounts.setDisabled('alice', true);
    try {
      const wrong = await signInWithPassword(deps, { name: 'alice', password: 'nope nope' });
      assert.deepEqual(wrong, { ok: false, reason: 'wrong', message: WRONG_PASSWORD_MESSAGE, code: 'wrong' });
      const right = await signInWithPassword(deps, { name: 'alice', password: PASSWORD });
      assert.deepEqual(right, { ok: false, reason: 'disabled', message: DISABLED_MESSAGE, code: 'disabled' });
      assert.equal((await audit()).at(-1)?.detail, JSON.stringify({ reason: 'account disabled' }));
    } finally {
      await deps.accounts.setDisabled('alice', false);
    }
  });

  test('an unknown name gets the same message as a wrong password', async () => {
    const result = await signInWithPassword(deps, { name: 'mallory', password: 'whatever1' });
    assert.deepEqual(result, { ok: false, reason: 'wrong', message: WRONG_PASSWORD_MESSAGE, code: 'wrong' });
  });

  test('missing or odd input is refused before the throttle', async () => {
    for (const input of [
      { name: '', password: 'x' },
      { name: 'alice', password: '' },
      { name: undefined, password: undefined },
      { name: ['alice'], password: PASSWORD },
      { name: 'a'.repeat(300), password: PASSWORD },
      { name: 'alice', password: 'p'.repeat(2000) },
    ]) {
      assert.deepEqual(await signInWithPassword(deps, input), { ok: false, reason: 'invalid', message: MISSING_INPUT_MESSAGE, code: 'missing' });
    }
  });
});
