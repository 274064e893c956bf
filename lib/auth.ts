/**
 * Sign-in and roles for pages and route handlers. next-auth's options: Floe's own accounts
 * (name and password, throttled) and, when configured, an OIDC provider; the session is a
 * signed, encrypted JWT cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) that names a sign-in
 * session row, checked on every request so sign-out, the lifetime, the idle timeout and a
 * disabled account end it at once. The helpers below are the only way pages and route handlers
 * learn who is signed in:
 *
 * - pages: `requireUser()`, `requireRole('helpdesk')` (anonymous → /login, wrong role → 403 page)
 * - route handlers: `requireApiUser()`, `requireApiRole('admin')` (throw 401 / 403 RequestErrors
 *   that `errorResponse` answers)
 *
 * Roles: `user` < `helpdesk` < `admin`; an admin passes every role check.
 * Server-only: it reaches the backend through the runtime the custom server published.
 */
import 'server-only';
import type { NextAuthOptions, User as NextAuthUser } from 'next-auth';
import { getServerSession } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import type { OAuthConfig } from 'next-auth/providers/oauth';
import type { TokenSet } from 'openid-client';
import { headers } from 'next/headers';
import { forbidden, redirect } from 'next/navigation';
import { cache } from 'react';
import { clientAddressFromHeaders } from '@/server/accounts/client-address';
import { type OidcSettings, oidcSettingsFromEnv } from '@/server/accounts/oidc';
import { signInWithOidc } from '@/server/accounts/oidc-sign-in';
import { signInWithPassword } from '@/server/accounts/password-sign-in';
import { hasRole, rolesNeeded } from '@/server/accounts/roles';
import { signInServices } from '@/server/accounts/services';
import { SIGN_IN_REFUSAL_PREFIX } from '@/server/accounts/sign-in-refusal';
import { sessionPolicyFromEnv, signInSessionKey } from '@/server/accounts/sign-in-sessions';
import type { Role } from '@/server/db/schema';
import { getRuntime } from '@/server/runtime-registry';
import { RequestError } from './http';

export interface SessionUser {
  id: string;
  name: string;
  displayName: string;
  role: Role;
  /** The sign-in session this request runs under (sign_in_sessions.id), e.g. to bind a console to it. */
  signInSessionId?: string;
}

/** The user next-auth carries from a sign-in to the session cookie. */
interface SignedInUser extends NextAuthUser {
  id: string;
  name: string;
  displayName: string;
  role: Role;
  sessionId: string;
}

/** Thrown in the jwt callback when the cookie's sign-in session is over; next-auth then clears the cookie. */
class SessionEndedError extends Error {
  constructor(reason: string) {
    super(`sign-in session ${reason}`);
    this.name = 'SessionEndedError';
  }
}

export const OIDC_PROVIDER_ID = 'oidc';
export { hasRole };

const sessionPolicy = sessionPolicyFromEnv();
const oidcSettings = oidcSettingsFromEnv();

/** The OIDC provider's button text ("Sign in with NAME"), or null when OIDC is off. */
export function oidcProviderName(): string | null {
  return oidcSettings?.displayName ?? null;
}

function backend() {
  const runtime = getRuntime();
  return { runtime, ...signInServices(runtime.database.db) };
}

type HeaderBag = Record<string, string | string[] | undefined> | undefined;

function clientOf(headerBag: HeaderBag) {
  const agent = headerBag?.['user-agent'];
  return { clientAddress: clientAddressFromHeaders(headerBag), userAgent: Array.isArray(agent) ? agent.join(' ') : (agent ?? null) };
}

function toSignedInUser(user: { id: string; name: string; display_name: string; role: Role }, sessionId: string): SignedInUser {
  return { id: user.id, name: user.name, displayName: user.display_name, role: user.role, sessionId };
}

function oidcProvider(settings: OidcSettings): OAuthConfig<Record<string, unknown>> {
  return {
    id: OIDC_PROVIDER_ID,
    name: settings.displayName,
    type: 'oauth',
    wellKnown: `${settings.issuer}/.well-known/openid-configuration`,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    authorization: { params: { scope: settings.scopes } },
    idToken: true,
    checks: ['pkce', 'state', 'nonce'],
    // The ID token's claims (checked by next-auth: signature, issuer, audience, nonce), with
    // what the userinfo endpoint adds: some providers put the groups claim only there.
    userinfo: {
      async request({ tokens, client }) {
        // next-auth passes openid-client's TokenSet (its types say only the parameters).
        const tokenSet = tokens as unknown as TokenSet;
        const fromIdToken = tokenSet.claims();
        const fromUserinfo = await client.userinfo(tokenSet).catch(() => ({}));
        return { ...fromUserinfo, ...fromIdToken };
      },
    },
    // Floe's own user is made in the signIn callback; this only names the person for next-auth.
    profile(claims) {
      return { id: String(claims.sub ?? ''), name: typeof claims.name === 'string' ? claims.name : null };
    },
  };
}

export const authOptions: NextAuthOptions = {
  session: { strategy: 'jwt', maxAge: Math.ceil(sessionPolicy.lifetimeMs / 1000) },
  // Cookies: next-auth's defaults are HttpOnly and SameSite=Lax; `Secure` (and the __Secure-
  // name prefix) follow NEXTAUTH_URL when set, else the request's protocol (X-Forwarded-Proto
  // from a proxy, or the server's own TLS).
  pages: { signIn: '/login', error: '/login' },
  providers: [
    CredentialsProvider({
      name: 'Floe account',
      credentials: {
        username: { label: 'User name', type: 'text' },
        password: { label: 'Password', type: 'password' },
      },
      async authorize(credentials, request) {
        let result;
        try {
          const { runtime, throttle, sessions } = backend();
          result = await signInWithPassword(
            { accounts: runtime.accounts, throttle, sessions, audit: runtime.audit },
            { name: credentials?.username, password: credentials?.password, ...clientOf(request?.headers as HeaderBag) },
          );
        } catch (error) {
          getRuntime().log.error({ err: error }, 'sign-in failed on the server');
          throw new Error(`${SIGN_IN_REFUSAL_PREFIX}unavailable`);
        }
        // The code reaches the sign-in form as signIn()'s `error`; the form words it.
        if (!result.ok) throw new Error(`${SIGN_IN_REFUSAL_PREFIX}${result.code}`);
        return toSignedInUser(result.user, result.sessionId);
      },
    }),
    ...(oidcSettings ? [oidcProvider(oidcSettings)] : []),
  ],
  callbacks: {
    async signIn({ user, account, profile }) {
      if (account?.provider !== OIDC_PROVIDER_ID) return true;
      if (!oidcSettings || !profile) return '/login?error=OidcNotAllowed';
      const { runtime, sessions } = backend();
      const result = await signInWithOidc(
        { accounts: runtime.accounts, sessions, audit: runtime.audit },
        oidcSettings,
        profile as Record<string, unknown>,
        clientOf(Object.fromEntries(await headers())),
      );
      if (!result.ok) return `/login?error=${result.code}`;
      // next-auth hands this same object to the jwt callback: make it Floe's user.
      Object.assign(user, toSignedInUser(result.user, result.sessionId));
      return true;
    },
    async jwt({ token, user }) {
      if (user) {
        const u = user as SignedInUser;
        return { uid: u.id, sid: u.sessionId, name: u.name };
      }
      // Every later read of the cookie: its sign-in session must still be open.
      const check = await backend().sessions.check(token.sid);
      if (!check.ok) throw new SessionEndedError(check.reason);
      if (check.userId !== token.uid) throw new SessionEndedError('belongs to another user');
      return token;
    },
    async session({ session, token }) {
      // Only ids: name and role are read from the database on every request (currentUser). The
      // sign-in session's key is its database id (a hash), not the secret id in the cookie.
      const signInSessionId = typeof token.sid === 'string' ? signInSessionKey(token.sid) : undefined;
      return { expires: session.expires, user: { id: String(token.uid), signInSessionId } } as unknown as typeof session;
    },
  },
  events: {
    async signOut({ token }) {
      await backend().sessions.end(token?.sid, 'signed out');
      const name = typeof token?.name === 'string' ? token.name : null;
      await getRuntime().audit({ actor: name, action: 'sign-out', target: name });
    },
  },
  logger: {
    error(code, metadata) {
      const error = (metadata as { error?: unknown } | undefined)?.error ?? metadata;
      if (code === 'JWT_SESSION_ERROR' && error instanceof Error && error.name === 'SessionEndedError') return;
      getRuntime().log.error({ code, err: error }, 'next-auth error');
    },
    warn(code) {
      getRuntime().log.warn({ code }, 'next-auth warning');
    },
    debug() {},
  },
};

/**
 * The signed-in person, read from the database on every request, or null: no cookie, a sign-in
 * session that ended (sign-out, lifetime, idle timeout), or a disabled or deleted account.
 */
export const currentUser = cache(async (): Promise<SessionUser | null> => {
  const session = await getServerSession(authOptions);
  const user = (session as { user?: { id?: unknown; signInSessionId?: unknown } } | null)?.user;
  if (typeof user?.id !== 'string' || !user.id) return null;
  const account = await getRuntime().accounts.findById(user.id);
  if (!account || account.disabled) return null;
  return {
    id: account.id,
    name: account.name,
    displayName: account.display_name,
    role: account.role,
    signInSessionId: typeof user.signInSessionId === 'string' ? user.signInSessionId : undefined,
  };
});

/**
 * A path to go to after sign-in: only this site's own paths (no `//host`, no backslashes, which
 * browsers read as slashes), never the sign-in page itself; else '/desktops'.
 */
export function safeCallbackPath(value: string | undefined | null): string {
  return value && /^\/(?![/\\])[^\s\\]*$/.test(value) && !/^\/login(?:[/?#]|$)/.test(value) ? value : '/desktops';
}

/** Where to send an anonymous visitor of the current page (its path comes from proxy.ts). */
async function signInPath(): Promise<string> {
  const path = (await headers()).get('x-floe-path');
  return path && path !== '/' && safeCallbackPath(path) === path ? `/login?callbackUrl=${encodeURIComponent(path)}` : '/login';
}

/**
 * For pages: the signed-in person when they have one of `roles` (or any role when none is
 * given). Anonymous visitors are redirected to the sign-in page (and back after); signed-in
 * people without the role get the 403 page.
 */
export async function requireRole(...roles: Role[]): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) redirect(await signInPath());
  if (!hasRole(user.role, roles)) forbidden();
  return user;
}

/** For pages: the signed-in person, or a redirect to the sign-in page. */
export async function requireUser(): Promise<SessionUser> {
  return requireRole();
}

/**
 * For route handlers: the signed-in person when they have one of `roles` (any role when none is
 * given); else throws RequestError 401 ("Please sign in.") or 403, which `errorResponse` answers.
 */
export async function requireApiRole(...roles: Role[]): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) throw new RequestError(401, 'Please sign in.');
  if (!hasRole(user.role, roles)) throw new RequestError(403, `You are signed in as ${user.name}, but this needs ${rolesNeeded(roles)}.`);
  return user;
}

/** For route handlers: the signed-in person, else a 401 RequestError. */
export async function requireApiUser(): Promise<SessionUser> {
  return requireApiRole();
}
