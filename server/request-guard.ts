/**
 * What every HTTP request passes before Next.js sees it (server/main.ts): the client's address
 * is stamped (accounts/client-address.ts); forwarded Host and protocol headers are dropped unless
 * the request came through a trusted proxy (FLOE_TRUSTED_PROXIES), so no client chooses the URLs
 * next-auth builds; a URL whose percent-encoding is broken or that carries control characters is
 * answered 400 (Next would throw a 500 decoding it); a body is refused by its Content-Length
 * before anything buffers it (413), and one without a length (chunked) is refused (411), which
 * is the streaming cap: no request body of unknown size reaches Next. A refused request's body
 * is read and thrown away when its declared size is modest (up to DRAIN_LIMIT_BYTES; the
 * connection then stays open): a client still sending its body reads the answer instead of
 * having its upload reset under it, as when a server closes with unread data. A larger or
 * unsized body gets the answer and the connection closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { normalAddress, stampClientAddress, trustedProxiesFromEnv } from './accounts/client-address';

/** The largest request body Floe accepts (its JSON routes take at most 64 KiB). */
export const MAX_REQUEST_BODY_BYTES = 256 * 1024;

/** Refused bodies up to this size are read and discarded (the client gets its answer); larger ones close the connection. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

const FORWARDED_HEADERS = ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded'] as const;

let trusted: Set<string> | undefined;

/** Returns true if the request may go on to Next; otherwise it has been answered. */
export function guardRequest(req: IncomingMessage, res: ServerResponse, trustedProxies: Set<string> = (trusted ??= trustedProxiesFromEnv())): boolean {
  stampClientAddress(req);
  const peer = normalAddress(req.socket.remoteAddress);
  if (!peer || !trustedProxies.has(peer)) for (const name of FORWARDED_HEADERS) delete req.headers[name];
  const problem = requestProblem(req);
  if (problem === undefined) return true;
  // The API's answers are JSON with an `error` message (lib/http.ts); pages get the words.
  const api = (req.url ?? '').startsWith('/api/');
  const body = api ? JSON.stringify({ error: problem.message }) : `${problem.message}\n`;
  const type = api ? 'application/json' : 'text/plain; charset=utf-8';
  // Node reads and discards an unread body after the answer unless the connection closes.
  const length = Number(req.headers['content-length'] ?? 0);
  const drain = req.headers['transfer-encoding'] === undefined && length <= DRAIN_LIMIT_BYTES;
  res.writeHead(problem.status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...(drain ? {} : { Connection: 'close' }) });
  res.end(body);
  return false;
}

/** Why a request is refused before Next.js, or undefined. */
export function requestProblem(req: Pick<IncomingMessage, 'url' | 'headers'>): { status: 400 | 411 | 413; message: string } | undefined {
  if (!isWellFormedUrl(req.url ?? '/')) return { status: 400, message: 'The address is not valid (broken %-encoding or control characters).' };
  const length = req.headers['content-length'];
  if (length !== undefined && !(Number(length) <= MAX_REQUEST_BODY_BYTES)) {
    return { status: 413, message: `The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.` };
  }
  if (req.headers['transfer-encoding'] !== undefined) return { status: 411, message: 'Send the request body with a Content-Length.' };
  return undefined;
}

/** Every %-escape of the path and query decodes (as UTF-8), and nothing decodes to a control character. */
export function isWellFormedUrl(url: string): boolean {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const parts = [...path.split('/')];
  if (query !== -1) for (const pair of url.slice(query + 1).split('&')) parts.push(...pair.split('='));
  for (const part of parts) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return false;
    }
    if (/[\x00-\x1f\x7f]/.test(decoded)) return false;
  }
  return true;
}
