/**
 * Next.js settings. Native and server-only packages stay outside Next's bundles. Security
 * headers: the ones every response gets are set here (lib/security-headers.ts); the
 * Content-Security-Policy with its per-request nonce is set by proxy.ts (static files get a
 * policy that allows nothing). `authInterrupts` turns on `forbidden()`, which lib/auth.ts's
 * requireRole uses to answer a page with 403. next-intl's plugin points at i18n/request.ts (the
 * language and time zone of each request).
 */
import type { NextConfig } from 'next';
import createNextIntlPlugin from 'next-intl/plugin';
import { COMMON_SECURITY_HEADERS, STATIC_CONTENT_SECURITY_POLICY } from './lib/security-headers';

const nextConfig: NextConfig = {
  serverExternalPackages: ['better-sqlite3', 'pino', 'pg', '@node-rs/argon2', 'kysely'],
  poweredByHeader: false,
  // `npm test` type checks the whole tree with tsc first; the build need not do it again.
  typescript: { ignoreBuildErrors: true },
  reactStrictMode: true,
  experimental: { authInterrupts: true },
  async headers() {
    return [
      { source: '/:path*', headers: COMMON_SECURITY_HEADERS },
      {
        source: '/_next/:path*',
        headers: [{ key: 'Content-Security-Policy', value: STATIC_CONTENT_SECURITY_POLICY }],
      },
    ];
  },
};

export default createNextIntlPlugin('./i18n/request.ts')(nextConfig);
