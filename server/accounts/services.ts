/**
 * The sign-in services for one database: sign-in sessions and throttling, with their settings
 * read once from the environment (FLOE_SESSION_HOURS, FLOE_IDLE_MINUTES,
 * FLOE_SIGN_IN_MAX_FAILURES, FLOE_SIGN_IN_LOCK_MINUTES). Pages, route handlers and the server's
 * console upgrade each get theirs from here, all backed by the same tables.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { oidcSettingsFromEnv } from './oidc';
import { type SessionPolicy, SignInSessions, sessionPolicyFromEnv } from './sign-in-sessions';
import { SignInThrottle, type ThrottlePolicy, throttlePolicyFromEnv } from './sign-in-throttle';

export interface SignInServices {
  sessions: SignInSessions;
  throttle: SignInThrottle;
}

const byDatabase = new WeakMap<Kysely<Database>, SignInServices>();
let policies: { session: SessionPolicy; throttle: ThrottlePolicy } | undefined;

export function signInServices(db: Kysely<Database>): SignInServices {
  let services = byDatabase.get(db);
  if (!services) {
    policies ??= { session: sessionPolicyFromEnv(), throttle: throttlePolicyFromEnv() };
    services = { sessions: new SignInSessions(db, policies.session), throttle: new SignInThrottle(db, policies.throttle) };
    byDatabase.set(db, services);
  }
  return services;
}

/**
 * For server/main.ts at start-up: reads every sign-in setting (sessions, throttling, OIDC) so a
 * bad value stops Floe with a message naming the variable, instead of failing each sign-in.
 * Returns a line for the log.
 */
export function checkSignInSettings(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const session = sessionPolicyFromEnv(env);
  const throttle = throttlePolicyFromEnv(env);
  const oidc = oidcSettingsFromEnv(env);
  return [
    `sessions last ${session.lifetimeMs / 3_600_000} h${session.idleMs ? `, end after ${session.idleMs / 60_000} min unused` : ''}`,
    `sign-in locks after ${throttle.account.maxFailures} failures for ${throttle.account.lockMs / 60_000} min`,
    oidc ? `OIDC sign-in through ${oidc.issuer}` : 'OIDC sign-in off',
  ].join('; ');
}
