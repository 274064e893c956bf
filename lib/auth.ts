/**
 * Sign-in for pages and route handlers: next-auth's options (credentials checked against Floe's
 * own accounts, sessions as signed JWT cookies) and the helpers that read who is signed in.
 * Server-only: it reaches the backend through the runtime the custom server published.
 */
import 'server-only';
import type { NextAuthOptions } from 'next-auth';
import { getServerSession } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { redirect } from 'next/navigation';
import type { Role } from '@/server/db/schema';
import { getRuntime } from '@/server/runtime-registry';

export interface SessionUser {
  id: string;
  name: string;
  displayName: string;
  role: Role;
}

const SESSION_MAX_AGE_SECONDS = Number(process.env.FLOE_SESSION_HOURS ?? 12) * 3600;

export const authOptions: NextAuthOptions = {
  session: { strategy: 'jwt', maxAge: SESSION_MAX_AGE_SECONDS },
  pages: { signIn: '/login' },
  providers: [
    CredentialsProvider({
      name: 'Floe account',
      credentials: {
        username: { label: 'User name', type: 'text' },
        password: { label: 'Password', type: 'password' },
      },
      async authorize(credentials) {
        const name = String(credentials?.username ?? '').trim();
        const password = String(credentials?.password ?? '');
        if (!name || !password || name.length > 256 || password.length > 1024) return null;
        const runtime = getRuntime();
        const user = await runtime.accounts.verifyCredentials(name, password);
        await runtime.audit({ actor: user?.name ?? name, action: user ? 'sign-in' : 'sign-in failed', target: name });
        if (!user) return null;
        return { id: user.id, name: user.name, displayName: user.display_name, role: user.role };
      },
    }),
  ],
  callbacks: {
    async jwt({ token, user }) {
      if (user) {
        const u = user as unknown as SessionUser;
        token.uid = u.id;
        token.name = u.name;
        token.displayName = u.displayName;
        token.role = u.role;
      }
      return token;
    },
    async session({ session, token }) {
      (session as unknown as { user: SessionUser }).user = {
        id: String(token.uid),
        name: String(token.name),
        displayName: String(token.displayName),
        role: token.role as Role,
      };
      return session;
    },
  },
};

/** The signed-in person, checked against the database (a disabled or deleted account is signed out), or null. */
export async function currentUser(): Promise<SessionUser | null> {
  const session = await getServerSession(authOptions);
  const user = (session as unknown as { user?: SessionUser } | null)?.user;
  if (!user?.id) return null;
  const account = await getRuntime().accounts.findById(user.id);
  if (!account || account.disabled) return null;
  return { id: account.id, name: account.name, displayName: account.display_name, role: account.role };
}

/** For pages: the signed-in person, or a redirect to the sign-in page. */
export async function requireUser(): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) redirect('/login');
  return user;
}
