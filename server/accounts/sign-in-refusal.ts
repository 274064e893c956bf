/**
 * Why a password sign-in was refused, as a short code the sign-in page puts into the person's
 * language (messages SignIn.refusals): "wrong", "wrong-wait:4" and "wait:4" (seconds to wait),
 * "locked-account:15" and "locked-address:15" (minutes locked), "disabled", "missing",
 * "unavailable". The credentials provider (lib/auth.ts) throws it prefixed with "floe:", and
 * next-auth hands it to the form as the sign-in's `error`. Imports nothing, so the browser
 * bundle can carry it.
 */

export const SIGN_IN_REFUSAL_PREFIX = 'floe:';

export type SignInRefusal =
  | { kind: 'wrong' | 'disabled' | 'missing' | 'unavailable' }
  | { kind: 'wrong-wait' | 'wait'; seconds: number }
  | { kind: 'locked-account' | 'locked-address'; minutes: number };

export function refusalCode(refusal: SignInRefusal): string {
  if ('seconds' in refusal) return `${refusal.kind}:${refusal.seconds}`;
  if ('minutes' in refusal) return `${refusal.kind}:${refusal.minutes}`;
  return refusal.kind;
}

/** The refusal in a sign-in error ("floe:wait:4"), or undefined for any other text. */
export function parseSignInRefusal(error: string): SignInRefusal | undefined {
  if (!error.startsWith(SIGN_IN_REFUSAL_PREFIX)) return undefined;
  const [kind, figure] = error.slice(SIGN_IN_REFUSAL_PREFIX.length).split(':');
  const n = Number(figure);
  const counted = Number.isInteger(n) && n > 0;
  switch (kind) {
    case 'wrong':
    case 'disabled':
    case 'missing':
    case 'unavailable':
      return figure === undefined ? { kind } : undefined;
    case 'wrong-wait':
    case 'wait':
      return counted ? { kind, seconds: n } : undefined;
    case 'locked-account':
    case 'locked-address':
      return counted ? { kind, minutes: n } : undefined;
    default:
      return undefined;
  }
}
