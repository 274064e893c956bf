/**
 * Signing in with a Floe account's name and password, start to end: input checks, throttling
 * (per account and per client address), the password check, the audit log, and a new sign-in
 * session. next-auth's credentials provider calls this; it is plain code so tests drive it
 * directly. Every refusal carries English words (logs, tests) and a code the sign-in form puts
 * into the person's language (sign-in-refusal.ts).
 */
import { z } from 'zod';
import type { AuditEntry } from '../db/audit';
import type { User } from '../db/schema';
import type { Accounts } from './accounts';
import { refusalCode } from './sign-in-refusal';
import type { SignInSessions } from './sign-in-sessions';
import type { SignInThrottle, ThrottleRefusal } from './sign-in-throttle';

export const WRONG_PASSWORD_MESSAGE = 'Wrong user name or password.';
export const DISABLED_MESSAGE = 'This account is disabled. Please ask the helpdesk.';
export const MISSING_INPUT_MESSAGE = 'Please enter your user name and password.';

const PasswordSignInInput = z.object({
  name: z.string().trim().min(1).max(256),
  password: z.string().min(1).max(1024),
});

export type PasswordSignInResult =
  | { ok: true; user: User; sessionId: string; expiresAt: number }
  | { ok: false; reason: 'invalid' | 'wrong' | 'disabled' | 'throttled'; message: string; code: string };

/** The code of a throttle's refusal: a wait in seconds, or a lock in minutes (rounded as its message). */
function throttledCode(refusal: ThrottleRefusal): string {
  return refusal.reason === 'wait'
    ? refusalCode({ kind: 'wait', seconds: Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)) })
    : refusalCode({ kind: refusal.kind === 'account' ? 'locked-account' : 'locked-address', minutes: Math.max(1, Math.ceil(refusal.retryAfterMs / 60_000)) });
}

export interface PasswordSignInDeps {
  accounts: Accounts;
  throttle: SignInThrottle;
  sessions: SignInSessions;
  audit(entry: AuditEntry): Promise<void>;
}

export async function signInWithPassword(
  deps: PasswordSignInDeps,
  input: { name: unknown; password: unknown; clientAddress?: string | null; userAgent?: string | null },
): Promise<PasswordSignInResult> {
  const parsed = PasswordSignInInput.safeParse({ name: input.name, password: input.password });
  if (!parsed.success) return { ok: false, reason: 'invalid', message: MISSING_INPUT_MESSAGE, code: 'missing' };
  const { name, password } = parsed.data;
  const address = input.clientAddress ?? null;
  const where = address ? { address } : {};

  const begin = await deps.throttle.begin({ name, address });
  if (!begin.ok) {
    return { ok: false, reason: 'throttled', message: begin.refusal.message, code: throttledCode(begin.refusal) };
  }
  let check;
  try {
    check = await deps.accounts.checkPassword(name, password);
  } catch (error) {
    // Not the person's fault: give the reservation back.
    await begin.attempt.succeeded().catch(() => undefined);
    throw error;
  }
  if (check.outcome === 'wrong') {
    const caused = await begin.attempt.failed();
    await deps.audit({ actor: name, action: 'sign-in failed', target: name, detail: { reason: 'wrong user name or password', ...where } });
    if (caused?.reason === 'locked') {
      await deps.audit({ actor: name, action: 'sign-in locked', target: name, detail: { by: caused.kind, minutes: Math.ceil(caused.retryAfterMs / 60_000), ...where } });
      return { ok: false, reason: 'throttled', message: caused.message, code: throttledCode(caused) };
    }
    if (caused?.reason === 'wait') {
      const seconds = Math.ceil(caused.retryAfterMs / 1000);
      return {
        ok: false,
        reason: 'wrong',
        message: `${WRONG_PASSWORD_MESSAGE} Please wait ${seconds} ${seconds === 1 ? 'second' : 'seconds'} before trying again.`,
        code: refusalCode({ kind: 'wrong-wait', seconds }),
      };
    }
    return { ok: false, reason: 'wrong', message: WRONG_PASSWORD_MESSAGE, code: 'wrong' };
  }
  // The password was right: not a failure, whatever comes next.
  await begin.attempt.succeeded();
  if (check.outcome === 'disabled') {
    await deps.audit({ actor: check.user.name, action: 'sign-in failed', target: check.user.name, detail: { reason: 'account disabled', ...where } });
    return { ok: false, reason: 'disabled', message: DISABLED_MESSAGE, code: 'disabled' };
  }
  const session = await deps.sessions.start({ userId: check.user.id, method: 'password', clientAddress: address, userAgent: input.userAgent });
  await deps.audit({ actor: check.user.name, action: 'sign-in', target: check.user.name, detail: { method: 'password', ...where } });
  return { ok: true, user: check.user, sessionId: session.id, expiresAt: session.expiresAt };
}
