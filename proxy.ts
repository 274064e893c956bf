/**
 * Runs before every page and route handler (Next.js 16's Proxy, formerly Middleware):
 *
 * - a fresh nonce and Content-Security-Policy for each response (lib/security-headers.ts);
 *   Next.js reads the policy from the request and puts the nonce on its scripts;
 * - refuses requests that change something (POST, PUT, PATCH, DELETE) when the browser says
 *   they come from another site (Origin header of another host): 403, before any handler runs;
 * - tells pages their own path (`x-floe-path`) so sign-in can bring people back to it.
 *
 * Who may do what is not decided here: every page and handler checks roles itself (lib/auth.ts).
 */
import { type NextRequest, NextResponse } from 'next/server';
import { STATIC_CONTENT_SECURITY_POLICY, contentSecurityPolicy } from './lib/security-headers';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameHost(origin: string, host: string | null): boolean {
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function proxy(request: NextRequest) {
  const host = request.headers.get('host');
  const origin = request.headers.get('origin');
  const { pathname, search } = request.nextUrl;
  const isApi = pathname.startsWith('/api/');

  if (!SAFE_METHODS.has(request.method) && origin !== null && !sameHost(origin, host)) {
    return NextResponse.json(
      { error: 'This request came from another site and was refused.' },
      { status: 403, headers: { 'Content-Security-Policy': STATIC_CONTENT_SECURITY_POLICY } },
    );
  }

  const nonce = btoa(crypto.randomUUID());
  const policy = isApi
    ? STATIC_CONTENT_SECURITY_POLICY
    : contentSecurityPolicy({ nonce, host, dev: process.env.NODE_ENV === 'development' });
  const headers = new Headers(request.headers);
  headers.set('x-nonce', nonce);
  headers.set('content-security-policy', policy);
  headers.set('x-floe-path', `${pathname}${search}`.slice(0, 2000));
  const response = NextResponse.next({ request: { headers } });
  response.headers.set('Content-Security-Policy', policy);
  return response;
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
