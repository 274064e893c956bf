/** Sign-in refusal codes (sign-in-refusal.ts): each kind survives the trip to the form; other text is not a refusal. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIGN_IN_REFUSAL_PREFIX, type SignInRefusal, parseSignInRefusal, refusalCode } from './sign-in-refusal';

test('every refusal kind comes back from its code', () => {
  const refusals: SignInRefusal[] = [
    { kind: 'wrong' },
    { kind: 'disabled' },
    { kind: 'missing' },
    { kind: 'unavailable' },
    { kind: 'wrong-wait', seconds: 4 },
    { kind: 'wait', seconds: 1 },
    { kind: 'locked-account', minutes: 15 },
    { kind: 'locked-address', minutes: 2 },
  ];
  for (const refusal of refusals) assert.deepEqual(parseSignInRefusal(`${SIGN_IN_REFUSAL_PREFIX}${refusalCode(refusal)}`), refusal);
});

test('text that is not a refusal code is left alone', () => {
  for (const text of ['CredentialsSignin', 'Wrong user name or password.', 'floe:', 'floe:nonsense', 'floe:wait', 'floe:wait:-3', 'floe:wrong:7', 'wrong']) {
    assert.equal(parseSignInRefusal(text), undefined, text);
  }
});
