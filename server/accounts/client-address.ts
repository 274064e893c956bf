/**
 * The client's network address for sign-in throttling and the audit log. Route handlers cannot
 * see the socket, so the custom server stamps each request with a header of its own
 * (`x-floe-client-address`), replacing whatever the client sent. Behind a reverse proxy listed
 * in FLOE_TRUSTED_PROXIES (comma list of addresses), the address is the right-most
 * X-Forwarded-For entry that is not one of those proxies.
 *
 * Until the server stamps requests, the address falls back to what Next.js puts in
 * X-Forwarded-For (the socket address, unless the client sent that header itself).
 */
import type { IncomingMessage } from 'node:http';

export const CLIENT_ADDRESS_HEADER = 'x-floe-client-address';
const STAMPED = Symbol.for('floe.clientAddressStamped');
type StampSlot = Record<symbol, boolean | undefined>;

/** '::ffff:127.0.0.1' → '127.0.0.1'; trims and bounds the length. */
export function normalAddress(address: string | undefined | null): string | null {
  const a = (address ?? '').trim().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return a.length > 0 && a.length <= 64 ? a : null;
}

export function trustedProxiesFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Set<string> {
  return new Set(
    (env.FLOE_TRUSTED_PROXIES ?? '')
      .split(',')
      .map((s) => normalAddress(s))
      .filter((s): s is string => s !== null),
  );
}

let trusted: Set<string> | undefined;

/** The address a request came from: the socket's, or through trusted proxies the client's. */
export function clientAddressOfRequest(req: IncomingMessage, trustedProxies: Set<string> = (trusted ??= trustedProxiesFromEnv())): string | null {
  let address = normalAddress(req.socket.remoteAddress);
  if (address && trustedProxies.has(address)) {
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => normalAddress(h));
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i];
      if (!hop) continue;
      address = hop;
      if (!trustedProxies.has(hop)) break;
    }
  }
  return address;
}

/**
 * For server/main.ts, on every request before Next.js sees it: sets the client-address header
 * from the socket (see above), replacing any value the client sent.
 */
export function stampClientAddress(req: IncomingMessage): void {
  (globalThis as StampSlot)[STAMPED] = true;
  const address = clientAddressOfRequest(req);
  if (address) req.headers[CLIENT_ADDRESS_HEADER] = address;
  else delete req.headers[CLIENT_ADDRESS_HEADER];
}

/** In route handlers: the client's address from the request headers (see above). */
export function clientAddressFromHeaders(headers: Record<string, string | string[] | undefined> | Headers | undefined): string | null {
  if (!headers) return null;
  const get = (name: string) => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const value = headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  if ((globalThis as StampSlot)[STAMPED]) return normalAddress(get(CLIENT_ADDRESS_HEADER));
  const forwarded = (get('x-forwarded-for') ?? '').split(',');
  return normalAddress(forwarded[forwarded.length - 1]);
}
