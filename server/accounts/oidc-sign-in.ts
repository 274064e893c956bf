/**
 * Signing in through the OIDC provider, after next-auth has checked the provider's answer (state,
 * PKCE, nonce, ID token signature): the person's claims become a Floe user (created on first
 * sign-in, role and name refreshed each time from the groups claim), a refusal when they may not
 * use Floe, the audit log entry, and a new sign-in session.
 */
import type { AuditEntry } from '../db/audit';
import type { User } from '../db/schema';
import type { Accounts } from './accounts';
import { type OidcSettings, groupsOf, roleForGroups } from './oidc';
import type { SignInSessions } from './sign-in-sessions';

export type OidcSignInResult =
  | { ok: true; user: User; created: boolean; sessionId: string; expiresAt: number }
  /** `code` goes to the sign-in page as ?error=CODE, which has words for it. */
  | { ok: false; code: 'OidcNoSubject' | 'OidcNotAllowed' | 'AccountDisabled' };

export interface OidcSignInDeps {
  accounts: Accounts;
  sessions: SignInSessions;
  audit(entry: AuditEntry): Promise<void>;
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

export async function signInWithOidc(
  deps: OidcSignInDeps,
  settings: OidcSettings,
  claims: Record<string, unknown>,
  client: { clientAddress?: string | null; userAgent?: string | null } = {},
): Promise<OidcSignInResult> {
  const subject = text(claims.sub);
  const where = client.clientAddress ? { address: client.clientAddress } : {};
  if (!subject || subject.length > 255) return { ok: false, code: 'OidcNoSubject' };
  const preferredName = text(claims.preferred_username) || text(claims.email).split('@')[0] || text(claims.name) || subject;
  const groups = groupsOf(claims, settings.rolesClaim);
  const role = roleForGroups(groups, settings);
  if (!role) {
    await deps.audit({ actor: preferredName, action: 'sign-in failed', target: preferredName, detail: { method: 'oidc', reason: 'not in an allowed group', subject, ...where } });
    return { ok: false, code: 'OidcNotAllowed' };
  }
  const { user, created } = await deps.accounts.signInExternal({
    issuer: settings.issuer,
    subject,
    preferredName,
    displayName: text(claims.name) || preferredName,
    role,
  });
  if (created) await deps.audit({ actor: user.name, action: 'user added', target: user.name, detail: { method: 'oidc', role } });
  if (user.disabled) {
    await deps.audit({ actor: user.name, action: 'sign-in failed', target: user.name, detail: { method: 'oidc', reason: 'account disabled', ...where } });
    return { ok: false, code: 'AccountDisabled' };
  }
  const session = await deps.sessions.start({ userId: user.id, method: 'oidc', clientAddress: client.clientAddress, userAgent: client.userAgent });
  await deps.audit({ actor: user.name, action: 'sign-in', target: user.name, detail: { method: 'oidc', role, ...where } });
  return { ok: true, user, created, sessionId: session.id, expiresAt: session.expiresAt };
}
