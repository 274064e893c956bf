/**
 * Why a console session ended, as one closed set of codes shared by the server (the console
 * gate writes them into the session records) and the browser (the console client decides from
 * them whether to reconnect and what to tell the person). Who caused an end, for a takeover or
 * a staff member's close, travels beside the code (`taken_over_by`), never inside it. This file
 * imports nothing, so the client bundles it as is.
 */

export const CONSOLE_END_REASONS = [
  /** The person's browser (or remote-viewer) closed the console. */
  'client-closed',
  /** The desktop's SPICE server closed the connection. */
  'desktop-closed',
  /** The connection to the desktop failed, or the client stopped answering pings. */
  'connection-lost',
  /** The desktop was opened elsewhere (by its owner or by staff). */
  'taken-over',
  /** The helpdesk or an admin closed this console. */
  'closed-by-staff',
  /** The sign-in behind the console ended (signed out, expired, idle). */
  'signed-out',
  /** The account was disabled, or its role no longer allows this console. */
  'access-revoked',
  /** The desktop stopped running for its owner. */
  'desktop-stopped',
  /** Floe stopped or restarted while the console was open. */
  'floe-stopped',
  /** A channel broke the console's rules (not SPICE, wrong order, a replayed ticket). */
  'refused',
] as const;

export type ConsoleEndReason = (typeof CONSOLE_END_REASONS)[number];

/** Ends Floe decided on purpose: the client must not reconnect by itself. */
export const FINAL_CONSOLE_ENDS: ReadonlySet<ConsoleEndReason> = new Set([
  'taken-over',
  'closed-by-staff',
  'signed-out',
  'access-revoked',
  'desktop-stopped',
]);

export function isConsoleEndReason(value: unknown): value is ConsoleEndReason {
  return typeof value === 'string' && (CONSOLE_END_REASONS as readonly string[]).includes(value);
}

/** WebSocket close code for a console closed by Floe on purpose (one of FINAL_CONSOLE_ENDS). */
export const CONSOLE_CLOSED_BY_FLOE = 4001;

