/**
 * What the helpdesk pages and routes may ask of the backend: find people, see one person's
 * desktops and consoles (live and past), and act on them for the person: close a console, open
 * their desktop as the helpdesk (a console ticket on their behalf, which takes the desktop
 * over), restart or reset it, give them a fresh desktop or return it to its pool. Every action
 * takes the helpdesk person and their reason, and is written to the audit log with both. The
 * helpdesk's console page of someone else's desktop is served by the same kind of answers as a
 * person's own (desktop state, open consoles, how a console ended, a ticket).
 * Callers check the helpdesk role first (lib/auth.ts). Here every action also checks whose
 * desktop it is: the helpdesk acts only on people's (`user`) desktops, admins on anyone's; a
 * staff member's desktop is "no such desktop" to the helpdesk. Console tickets need the reason
 * given when the desktop was opened (within the hour), and carry it into the audit log.
 */
import 'server-only';
import os from 'node:os';
import { z } from 'zod';
import { personByName, searchPeople, type PersonSummary } from '@/server/accounts/people';
import { type ConsoleSessionRow, consoleSessionWithOwner, liveSessionsOfUser, recentSessionsOfUser } from '@/server/broker/desktop-queries';
import type { Desktop, DesktopState } from '@/server/db/schema';
import { mayOpenDesktopOf } from '@/server/accounts/roles';
import { latestAudit } from '@/server/db/audit';
import { getRuntime } from '@/server/runtime-registry';
import type { SessionUser } from './auth';
import { type ConsoleSessionStatus, type DesktopView, type OpenConsoleView, hostUnreachable, viewOf } from './desktops';
import { RequestError } from './http';

export type { PersonSummary };

/** The reason every helpdesk action asks for: what the person reported, a ticket number… */
export const ReasonSchema = z
  .string({ error: 'Say why you are doing this.' })
  .trim()
  .min(3, 'Say why you are doing this (at least 3 characters).')
  .max(500, 'Keep the reason under 500 characters.');

export const HELPDESK_DESKTOP_ACTIONS = ['restart', 'reset', 'fresh', 'return'] as const;
export type HelpdeskDesktopAction = (typeof HELPDESK_DESKTOP_ACTIONS)[number];

export const HelpdeskActionSchema = z.object({ action: z.enum(HELPDESK_DESKTOP_ACTIONS), reason: ReasonSchema }).strict();
export const HelpdeskReasonSchema = z.object({ reason: ReasonSchema }).strict();

/** States in which a desktop's VM runs (a console can be open, reset works). */
const RUNNING: DesktopState[] = ['booting', 'ready', 'assigned'];
/** States in which the broker is busy with the desktop. */
const BUSY: DesktopState[] = ['provisioning', 'stopping'];

/** "Helpdesk (Helen Okafor)": how the person whose console is touched sees who did it. */
export function actorLabel(actor: SessionUser): string {
  return `${actor.role === 'admin' ? 'Admin' : 'Helpdesk'} (${actor.displayName})`;
}

/**
 * The machine a desktop runs on: its libvirt host's name (libvirt driver), else its SPICE host
 * when it is another machine, else this one's name.
 */
export function hostOf(desktop: Pick<Desktop, 'id' | 'spice_host'>): string {
  const libvirtHost = getRuntime().libvirt?.desktopHost(desktop.id)?.host;
  if (libvirtHost) return libvirtHost;
  const host = desktop.spice_host;
  return host && host !== '127.0.0.1' && host !== '::1' && host !== 'localhost' ? host : os.hostname();
}

/** "Chrome 131 on Linux" from a User-Agent header (or the header itself when it is unusual). */
export function browserOf(userAgent: string | null): string {
  if (!userAgent) return 'unknown browser';
  const browser =
    /(Edg|OPR|Firefox|HeadlessChrome|Chromium|Chrome|Version)\/(\d+)/.exec(userAgent) ?? /(remote-viewer|curl)[/ ]?(\S*)/i.exec(userAgent);
  const names: Record<string, string> = { Edg: 'Edge', OPR: 'Opera', Version: 'Safari', HeadlessChrome: 'Headless Chrome' };
  const system = /Windows|Mac OS X|Android|iPhone|iPad|CrOS|Linux/.exec(userAgent)?.[0];
  const systems: Record<string, string> = { 'Mac OS X': 'macOS', CrOS: 'ChromeOS' };
  if (!browser) return userAgent.slice(0, 60);
  const name = names[browser[1]!] ?? browser[1]!;
  return `${name}${browser[2] ? ` ${browser[2]}` : ''}${system ? ` on ${systems[system] ?? system}` : ''}`;
}

export async function findPeople(text: string): Promise<PersonSummary[]> {
  return searchPeople(getRuntime().database.db, text);
}

export interface HelpdeskDesktop {
  id: string;
  pool: string;
  poolTitle: string;
  kind: 'persistent' | 'stateless';
  state: DesktopState;
  failureReason: string | null;
  /** Running since (booted_at), when it runs. */
  upSince: number | null;
  host: string;
  /** Its host does not answer now (libvirt hosts): it may run, but cannot be reached. */
  unreachable: boolean;
  accelerator: string | null;
  running: boolean;
  /** The broker is starting or stopping it: actions wait. */
  busy: boolean;
}

export interface ConsoleSessionView {
  id: string;
  desktopId: string;
  pool: string;
  /** Who has (had) it: "Alice Martin", or "Helpdesk (Helen Okafor)" when it was not the owner. */
  who: string;
  mine: boolean;
  clientAddress: string | null;
  browser: string;
  userAgent: string | null;
  startedAt: number;
  endedAt: number | null;
  bytesToDesktop: number;
  bytesToBrowser: number;
  /** Why it ended: a ConsoleEndReason (older records: free text); the helpdesk person page puts it in words (ConsoleEnds messages). */
  endReason: string | null;
  takenOverBy: string | null;
}

export interface PersonPage {
  person: { id: string; name: string; displayName: string; role: string; disabled: boolean };
  desktops: HelpdeskDesktop[];
  live: ConsoleSessionView[];
  history: ConsoleSessionView[];
}

function sessionView(row: ConsoleSessionRow, ownerId: string, live: Map<string, { bytesToDesktop: number; bytesToBrowser: number }>): ConsoleSessionView {
  const mine = row.user_id === ownerId;
  const name = row.user_display_name ?? row.user_name ?? 'someone';
  const who = mine || row.user_role === 'user' ? name : `${row.user_role === 'admin' ? 'Admin' : 'Helpdesk'} (${name})`;
  const bytes = live.get(row.id);
  return {
    id: row.id,
    desktopId: row.desktop_id,
    pool: row.pool_name,
    who,
    mine,
    clientAddress: row.client_address,
    browser: browserOf(row.user_agent),
    userAgent: row.user_agent,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    bytesToDesktop: bytes?.bytesToDesktop ?? row.bytes_to_desktop,
    bytesToBrowser: bytes?.bytesToBrowser ?? row.bytes_to_browser,
    endReason: row.end_reason,
    takenOverBy: row.taken_over_by,
  };
}

/** Bytes of the consoles this process carries right now (the records get them only when a session ends). */
function liveRelayBytes(): Map<string, { bytesToDesktop: number; bytesToBrowser: number }> {
  return new Map(getRuntime().consoles.liveSessions().map((s) => [s.sessionKey, s]));
}

/** One person's page: their desktops, consoles open now and the last 20 that ended; null for an unknown name. */
export async function personPage(name: string): Promise<PersonPage | null> {
  const runtime = getRuntime();
  const db = runtime.database.db;
  const person = await personByName(db, name);
  if (!person) return null;
  const [desktops, pools, live, history] = await Promise.all([
    runtime.broker.desktopsOfUser(person.id),
    runtime.broker.listPools(),
    liveSessionsOfUser(db, person.id),
    recentSessionsOfUser(db, person.id, 20),
  ]);
  const relayBytes = liveRelayBytes();
  return {
    person,
    desktops: desktops.map((d) => {
      const pool = pools.find((p) => p.name === d.pool_name);
      const running = RUNNING.includes(d.state);
      return {
        id: d.id,
        pool: d.pool_name,
        poolTitle: pool?.title ?? d.pool_name,
        kind: pool?.kind ?? 'persistent',
        state: d.state,
        failureReason: d.failure_reason,
        upSince: running ? (d.booted_at ?? null) : null,
        host: hostOf(d),
        unreachable: hostUnreachable(d),
        accelerator: d.accelerator,
        running,
        busy: BUSY.includes(d.state),
      };
    }),
    live: live.map((s) => sessionView(s, person.id, relayBytes)),
    history: history.map((s) => sessionView(s, person.id, relayBytes)),
  };
}

const NO_SUCH_DESKTOP = 'There is no such desktop (it may have been recycled).';

/**
 * A desktop someone owns that `actor` may act on (the helpdesk: a `user`'s; admins: anyone's),
 * or a 404 in the same words as for one that does not exist.
 */
async function ownedDesktop(actor: SessionUser, desktopId: string): Promise<Desktop & { user_id: string }> {
  const runtime = getRuntime();
  const desktop = await runtime.broker.getDesktop(desktopId);
  if (!desktop || desktop.state === 'gone' || !desktop.user_id) throw new RequestError(404, NO_SUCH_DESKTOP);
  const owner = await runtime.accounts.findById(desktop.user_id);
  if (!mayOpenDesktopOf(actor.role, owner?.role)) throw new RequestError(404, NO_SUCH_DESKTOP);
  return desktop as Desktop & { user_id: string };
}

async function ownerName(userId: string): Promise<string> {
  return (await getRuntime().accounts.findById(userId))?.name ?? userId;
}

/** Closes one open console (the person's window is told); 404 unknown, 409 already closed. */
export async function disconnectConsole(actor: SessionUser, sessionId: string, reason: string): Promise<void> {
  const runtime = getRuntime();
  const session = await consoleSessionWithOwner(runtime.database.db, sessionId);
  const owner = session?.owner_id ? await runtime.accounts.findById(session.owner_id) : undefined;
  if (!session || !mayOpenDesktopOf(actor.role, owner?.role)) throw new RequestError(404, 'There is no such console session.');
  if (session.ended_at !== null) throw new RequestError(409, 'This console has already closed.');
  const closed = await runtime.consoles.closeConsole(sessionId, 'closed-by-staff', actorLabel(actor));
  if (!closed) throw new RequestError(409, 'This console has already closed.');
  await runtime.audit({
    actor: actor.name,
    action: 'helpdesk console disconnect',
    target: session.desktop_id,
    detail: { owner: session.owner_id ? await ownerName(session.owner_id) : null, session: sessionId, reason },
  });
}

/**
 * Restart, reset, fresh (the desktop and its disk are discarded and a new one is booted for
 * the same person at once) or return (discarded; the person gets a new one when they next open
 * the pool). Returns the desktop the person has afterwards, if any.
 */
export async function actOnDesktop(
  actor: SessionUser,
  desktopId: string,
  action: HelpdeskDesktopAction,
  reason: string,
): Promise<{ desktop: DesktopView | null; message: string }> {
  const runtime = getRuntime();
  const desktop = await ownedDesktop(actor, desktopId);
  const account = await runtime.accounts.findById(desktop.user_id);
  const owner = account?.name ?? desktop.user_id;
  const ownerShown = account?.display_name ?? owner;
  const pool = await runtime.broker.getPool(desktop.pool_name);
  let result: Desktop | undefined;
  let message: string;
  if (action === 'restart' || action === 'reset') {
    result = await runtime.broker.powerAction(desktopId, action);
    message = action === 'reset' ? `${ownerShown}'s desktop was reset and is starting again.` : `${ownerShown}'s desktop is restarting.`;
  } else {
    if (BUSY.includes(desktop.state) || desktop.state === 'booting') {
      throw new RequestError(409, 'The desktop is starting or stopping; try again in a moment.');
    }
    if (pool.kind === 'stateless') await runtime.broker.powerAction(desktopId, 'discard');
    else await runtime.broker.destroyDesktop(desktopId);
    if (action === 'fresh') {
      result = await runtime.broker.assignDesktop(desktop.user_id, desktop.pool_name);
      message = `${ownerShown} has a fresh desktop of "${pool.title}"; it is starting.`;
    } else {
      message = `${ownerShown}'s desktop went back to "${pool.title}"; they get a new one when they next open it.`;
    }
  }
  await runtime.audit({
    actor: actor.name,
    action: `helpdesk desktop ${action}`,
    target: desktopId,
    detail: { owner, pool: desktop.pool_name, reason, ...(result && result.id !== desktopId ? { newDesktop: result.id } : {}) },
  });
  return { desktop: result ? viewOf(result) : null, message };
}

/** Records why the helpdesk opens a person's desktop, and says where its console page is. */
export async function openAsHelpdesk(actor: SessionUser, desktopId: string, reason: string): Promise<{ href: string }> {
  const runtime = getRuntime();
  const desktop = await ownedDesktop(actor, desktopId);
  if (desktop.state !== 'assigned') throw new RequestError(409, `The desktop is not running (it is ${desktop.state}).`);
  await runtime.audit({
    actor: actor.name,
    action: 'helpdesk desktop open',
    target: desktopId,
    detail: { owner: await ownerName(desktop.user_id), reason },
  });
  return { href: `/helpdesk/desktops/${encodeURIComponent(desktopId)}/console` };
}

/** A person's desktop as its console page sees it, with the owner; null when there is none. */
export async function helpdeskDesktop(actor: SessionUser, desktopId: string): Promise<{ desktop: DesktopView; owner: { name: string; displayName: string } } | null> {
  const desktop = await ownedDesktop(actor, desktopId).catch(() => null);
  if (!desktop) return null;
  const owner = await getRuntime().accounts.findById(desktop.user_id);
  return { desktop: viewOf(desktop), owner: { name: owner?.name ?? desktop.user_id, displayName: owner?.display_name ?? desktop.user_id } };
}

/** How long the reason given when opening a desktop covers its console tickets (reconnects, reloads). */
export const OPEN_REASON_VALID_MS = 60 * 60 * 1000;

/**
 * A console ticket for someone else's running desktop (the helpdesk's "open desktop"): the new
 * console takes the desktop over and the person's window is told who opened it. Only after
 * the actor said why (openAsHelpdesk) within the last hour: a 403 otherwise; the ticket's audit
 * entry carries that reason, so every console staff open on a desktop is audited with a reason.
 */
export async function issueHelpdeskTicket(actor: SessionUser, desktopId: string, origin: string) {
  const runtime = getRuntime();
  const desktop = await ownedDesktop(actor, desktopId);
  const opened = await latestAudit(runtime.database.db, {
    actor: actor.name,
    action: 'helpdesk desktop open',
    target: desktopId,
    since: Date.now() - OPEN_REASON_VALID_MS,
  });
  const reason = reasonOf(opened?.detail ?? null);
  if (!reason) throw new RequestError(403, 'Say why you open this desktop first: use "Open desktop" on the person\'s page.');
  const ticket = await runtime.tickets.issue({
    userId: actor.id,
    desktopId,
    origin,
    onBehalf: true,
    signInSessionId: actor.signInSessionId,
  });
  await runtime.audit({ actor: actor.name, action: 'helpdesk console ticket', target: desktopId, detail: { owner: await ownerName(desktop.user_id), reason } });
  return ticket;
}

/** The reason in an audit entry's detail (JSON with `reason`), or undefined. */
function reasonOf(detail: string | null): string | undefined {
  try {
    const parsed = JSON.parse(detail ?? 'null') as { reason?: unknown } | null;
    return typeof parsed?.reason === 'string' && parsed.reason.trim() ? parsed.reason : undefined;
  } catch {
    return undefined;
  }
}

/** Consoles open on a person's desktop, in the shape of lib/desktops' openConsoles (`mine`: the viewer's own). */
export async function helpdeskOpenConsoles(viewer: SessionUser, desktopId: string): Promise<OpenConsoleView[]> {
  const runtime = getRuntime();
  await ownedDesktop(viewer, desktopId);
  const open = await runtime.consoleSessions.openOn(desktopId);
  return open.map((s) => ({
    id: s.id,
    startedAt: s.started_at,
    clientAddress: s.client_address,
    userAgent: s.user_agent,
    mine: s.user_id === viewer.id,
    relayedBy: s.relayed_by,
  }));
}

/** How one console session of a person's desktop ended (or that it is open), in the shape of lib/desktops' consoleSessionStatus. */
export async function helpdeskConsoleStatus(actor: SessionUser, desktopId: string, sessionId: string): Promise<ConsoleSessionStatus | null> {
  const runtime = getRuntime();
  await ownedDesktop(actor, desktopId);
  const session = await runtime.consoleSessions.get(sessionId);
  if (!session || session.desktop_id !== desktopId) return null;
  return { id: session.id, endedAt: session.ended_at, endReason: session.end_reason, takenOverBy: session.taken_over_by };
}
