/**
 * Floe's security headers, in one place for proxy.ts (per request) and next.config.ts (static).
 *
 * Content-Security-Policy for pages: scripts only with this response's nonce (Next.js puts it on
 * its own scripts) and what they load ('strict-dynamic': the dynamically imported spice-html5
 * chunk); styles from the app (inline style attributes allowed); images from the app, data: and
 * blob: (spice-html5 draws cursors as data: URLs); media from blob: (spice-html5 plays audio
 * through MediaSource blob: URLs); connections only to this host, over HTTP(S) and the console
 * WebSocket (ws:/wss:); no plugins, no <base> elsewhere, forms post here only, and no framing
 * by any site (frame-ancestors 'none', plus X-Frame-Options for old browsers).
 */

/** A Host header safe to put into a policy (letters, digits, dots, dashes, a port, IPv6 brackets). */
const SAFE_HOST = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

export function contentSecurityPolicy(options: { nonce: string; host: string | null; dev: boolean }): string {
  const host = options.host && SAFE_HOST.test(options.host) ? options.host : null;
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${options.nonce}' 'strict-dynamic'${options.dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    `connect-src 'self'${sockets}`,
    "font-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** For responses no page renders (API answers, files): nothing may run or embed them. */
export const STATIC_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Sent with every response. */
export const COMMON_SECURITY_HEADERS: { key: string; value: string }[] = [
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'same-origin' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Resource-Policy', value: 'same-origin' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()' },
];
