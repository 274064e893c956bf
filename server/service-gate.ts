/**
 * The door of the HTTP server on a bad day: while Floe is low on file handles or its database
 * is away, new requests get a clear 503 in words (a page that reloads itself for browsers,
 * JSON for the API) instead of hanging or failing half-way. Consoles already open are
 * WebSockets past this door and go on. Static files and /metrics still pass, so pages can
 * show the message and the operator can see the figures.
 */
import type http from 'node:http';
import { DATABASE_AWAY_MESSAGE } from './db/database-health';
import { LOW_ON_HANDLES_MESSAGE } from './host/file-handles';

export interface ServiceState {
  handlesLow(): boolean;
  databaseUp(): boolean;
}

const ALWAYS_OPEN = [/^\/_next\/static\//, /^\/metrics(?:\?|$)/, /^\/favicon\.ico$/];

/** Why this request is refused now, or undefined to serve it. */
export function refusalOf(req: http.IncomingMessage, state: ServiceState): string | undefined {
  const url = req.url ?? '/';
  if (ALWAYS_OPEN.some((pattern) => pattern.test(url))) return undefined;
  if (state.handlesLow()) return LOW_ON_HANDLES_MESSAGE;
  if (!state.databaseUp()) return DATABASE_AWAY_MESSAGE;
  return undefined;
}

/** Answers 503 with the message: HTML that reloads itself for a browser page, else JSON. */
export function answerRefusal(req: http.IncomingMessage, res: http.ServerResponse, message: string): void {
  const html = (req.headers.accept ?? '').includes('text/html');
  const body = html
    ? `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10"><title>Floe is unavailable</title></head><body><main><h1>Floe is unavailable for a moment</h1><p role="alert">${message}</p><p>This page tries again by itself.</p></main></body></html>`
    : JSON.stringify({ error: message });
  res.writeHead(503, {
    'content-type': html ? 'text/html; charset=utf-8' : 'application/json',
    'retry-after': '10',
    'cache-control': 'no-store',
  });
  res.end(body);
}
