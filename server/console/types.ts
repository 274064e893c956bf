/**
 * The shapes the console relay shares with whoever creates it (server/main.ts): what a resolver
 * grants or refuses for one WebSocket upgrade, and what the relay reports about console
 * sessions. A console session is the set of WebSocket channels opened under one session key
 * (one ticket); `relay.ts` re-exports all of these.
 */
import type { IncomingMessage } from 'node:http';
import type { SpiceLinkInfo } from './link-header';

export type { SpiceLinkInfo } from './link-header';

/** Where the desktop's SPICE server listens. */
export interface ConsoleTarget {
  host: string;
  port: number;
}

/** What the resolver grants for one upgrade request. */
export interface ConsoleAdmission {
  target: ConsoleTarget;
  /** Channels sharing a key form one console session (same ticket). */
  sessionKey: string;
  /**
   * Optional: called with the channel's SPICE link message before any TCP connect. Return a
   * reason to refuse the channel (the WebSocket is closed with 1008 and that reason).
   */
  admitChannel?: (link: SpiceLinkInfo) => string | undefined;
}

/** Answered as a plain HTTP response on the upgrade, before any byte reaches the desktop. */
export interface ConsoleRefusal {
  status: 400 | 401 | 403 | 404 | 409 | 429 | 503;
  reason: string;
}

/** Turns an upgrade request into a target, or a refusal. A throw is answered 503. */
export type ResolveConsole = (req: IncomingMessage) => Promise<ConsoleAdmission | ConsoleRefusal>;

/** Reported once per console session, when its last channel has closed. */
export interface ConsoleSessionSummary {
  sessionKey: string;
  /** Epoch milliseconds: the first channel's WebSocket opened / the last one closed. */
  startedAt: number;
  endedAt: number;
  bytesToDesktop: number;
  bytesToBrowser: number;
  /** WebSocket channels that opened in this session, refused ones included. */
  channels: number;
  /**
   * Why it ended: 'browser closed', 'desktop closed', 'desktop error: <code>',
   * 'closed by server: <reason>', 'ping timeout', 'channel refused: <reason>', ...
   * When the main channel closes, its reason ends the whole session.
   */
  endReason: string;
}

/** A console session with at least one open channel. */
export interface ActiveConsoleSession {
  sessionKey: string;
  channels: number;
  startedAt: number;
  bytesToDesktop: number;
  bytesToBrowser: number;
}
