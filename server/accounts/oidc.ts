/**
 * Sign-in through an OpenID Connect identity provider (Keycloak, Entra ID, Google, Authentik…):
 * its settings, read from the environment, and how a person's groups or roles claim becomes a
 * Floe role. The provider is on when FLOE_OIDC_ISSUER, FLOE_OIDC_CLIENT_ID and
 * FLOE_OIDC_CLIENT_SECRET are all set.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | FLOE_OIDC_ISSUER | – | issuer URL (its /.well-known/openid-configuration is read) |
 * | FLOE_OIDC_CLIENT_ID, FLOE_OIDC_CLIENT_SECRET | – | the client registered for Floe |
 * | FLOE_OIDC_NAME | `single sign-on` | shown as "Sign in with NAME" |
 * | FLOE_OIDC_SCOPES | `openid profile email` | scopes asked for (add `groups` if the provider needs it) |
 * | FLOE_OIDC_ROLES_CLAIM | `groups` | claim holding groups or roles; a dotted path reaches nested claims (`realm_access.roles`) |
 * | FLOE_OIDC_ADMIN_GROUPS | – | comma list: members are admins |
 * | FLOE_OIDC_HELPDESK_GROUPS | – | comma list: members are helpdesk |
 * | FLOE_OIDC_USER_GROUPS | – | comma list: when set, only members of these (or of the two above) may sign in |
 */
import { z } from 'zod';
import type { Role } from '../db/schema';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  displayName: string;
  scopes: string;
  rolesClaim: string;
  adminGroups: string[];
  helpdeskGroups: string[];
  /** Empty: everyone the provider signs in may use Floe. */
  userGroups: string[];
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const OidcEnvSchema = z.object({
  FLOE_OIDC_ISSUER: z.url('must be a URL such as https://login.example.org/realms/floe'),
  FLOE_OIDC_CLIENT_ID: z.string().min(1, 'is required with FLOE_OIDC_ISSUER'),
  FLOE_OIDC_CLIENT_SECRET: z.string().min(1, 'is required with FLOE_OIDC_ISSUER'),
  FLOE_OIDC_NAME: z.string().min(1).max(60).default('single sign-on'),
  FLOE_OIDC_SCOPES: z.string().min(1).max(500).default('openid profile email'),
  FLOE_OIDC_ROLES_CLAIM: z.string().regex(/^[\w:/.-]+$/, 'must be a claim name or a dotted path').default('groups'),
});

/** The OIDC settings, or undefined when FLOE_OIDC_ISSUER is unset; throws naming a bad variable. */
export function oidcSettingsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): OidcSettings | undefined {
  if (!env.FLOE_OIDC_ISSUER) return undefined;
  const parsed = OidcEnvSchema.safeParse({
    FLOE_OIDC_ISSUER: env.FLOE_OIDC_ISSUER,
    FLOE_OIDC_CLIENT_ID: env.FLOE_OIDC_CLIENT_ID ?? '',
    FLOE_OIDC_CLIENT_SECRET: env.FLOE_OIDC_CLIENT_SECRET ?? '',
    FLOE_OIDC_NAME: env.FLOE_OIDC_NAME || undefined,
    FLOE_OIDC_SCOPES: env.FLOE_OIDC_SCOPES || undefined,
    FLOE_OIDC_ROLES_CLAIM: env.FLOE_OIDC_ROLES_CLAIM || undefined,
  });
  if (!parsed.success) {
    throw new Error(`Bad environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return {
    issuer: e.FLOE_OIDC_ISSUER.replace(/\/+$/, ''),
    clientId: e.FLOE_OIDC_CLIENT_ID,
    clientSecret: e.FLOE_OIDC_CLIENT_SECRET,
    displayName: e.FLOE_OIDC_NAME,
    scopes: e.FLOE_OIDC_SCOPES.includes('openid') ? e.FLOE_OIDC_SCOPES : `openid ${e.FLOE_OIDC_SCOPES}`,
    rolesClaim: e.FLOE_OIDC_ROLES_CLAIM,
    adminGroups: list(env.FLOE_OIDC_ADMIN_GROUPS),
    helpdeskGroups: list(env.FLOE_OIDC_HELPDESK_GROUPS),
    userGroups: list(env.FLOE_OIDC_USER_GROUPS),
  };
}

/**
 * The groups (or roles) a person's claims list under `claim`: an array of strings, or one string
 * of names separated by commas or spaces. A dotted path reaches nested claims; a claim whose
 * name itself contains dots (Auth0 style URLs) is found too. Anything else gives no groups.
 */
export function groupsOf(claims: Record<string, unknown>, claim: string): string[] {
  let value: unknown = claim in claims ? claims[claim] : undefined;
  if (value === undefined && claim.includes('.')) {
    value = claim.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), claims);
  }
  const names = Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return names.map((n) => n.trim()).filter((n) => n.length > 0 && n.length <= 256);
}

/** Group names compare without case and without Keycloak's leading "/" (full group paths). */
const normal = (group: string) => group.trim().replace(/^\/+/, '').toLowerCase();

/**
 * The Floe role for a person's groups: admin if any is an admin group, else helpdesk if any is
 * a helpdesk group, else user; `null` when FLOE_OIDC_USER_GROUPS is set and none of the person's
 * groups is listed anywhere (they may not use Floe).
 */
export function roleForGroups(
  groups: string[],
  settings: Pick<OidcSettings, 'adminGroups' | 'helpdeskGroups' | 'userGroups'>,
): Role | null {
  const mine = new Set(groups.map(normal));
  const any = (wanted: string[]) => wanted.some((g) => mine.has(normal(g)));
  if (any(settings.adminGroups)) return 'admin';
  if (any(settings.helpdeskGroups)) return 'helpdesk';
  if (settings.userGroups.length > 0 && !any(settings.userGroups)) return null;
  return 'user';
}
