/**
 * What pages and route handlers may ask of the broker about the signed-in person's desktops,
 * in the words the pages show. Every function takes the signed-in user and only ever touches
 * that user's desktops.
 */
import 'server-only';
import type { Desktop, DesktopState } from '@/server/db/schema';
import { getRuntime } from '@/server/runtime-registry';
import type { SessionUser } from './auth';

/** The steps a person sees while a desktop comes up, then its life after. */
export type DesktopStage = 'starting' | 'booting' | 'ready' | 'stopping' | 'stopped' | 'failed';

export interface DesktopView {
  id: string;
  pool: string;
  state: DesktopState;
  stage: DesktopStage;
  failureReason: string | null;
  accelerator: string | null;
  createdAt: number;
  bootedAt: number | null;
  /**
   * The host it runs on does not answer now (libvirt hosts): it is not known to have stopped,
   * but it cannot be reached; Floe looks again every second and this clears when it answers.
   */
  unreachable: boolean;
}

/** A pool whose template is still being built, as pages show it (components/PreparingPools.tsx). */
export interface PreparingPoolView {
  name: string;
  title: string;
  state: 'building' | 'ready' | 'failed';
  step: number;
  steps: number;
  /** The build script's own words for the current step. */
  doing: string;
}

/** The pools still being prepared (the demo's Desktop pool while its template builds). */
export function preparingPools(): PreparingPoolView[] {
  return getRuntime().preparingPools.map((pool) => {
    const { state, step, steps, doing } = pool.progress();
    return { name: pool.name, title: pool.title, state, step, steps, doing };
  });
}

export interface PoolOffer {
  name: string;
  title: string;
  kind: 'persistent' | 'stateless';
  memoryMiB: number;
  vcpus: number;
  desktop: DesktopView | null;
  /** When the pool's disconnect policy will shut down (persistent) or discard (stateless) the desktop; null when it will not. */
  policyAt: number | null;
}

/** What the console page needs of the pool's idle policy: minutes without input (0: never) and whether changes are discarded. */
export interface IdlePolicyView {
  idleMinutes: number;
  stateless: boolean;
}

const STAGE_OF: Record<DesktopState, DesktopStage> = {
  provisioning: 'starting',
  booting: 'booting',
  ready: 'ready',
  assigned: 'ready',
  stopping: 'stopping',
  stopped: 'stopped',
  gone: 'stopped',
  failed: 'failed',
};

/** States in which a desktop's VM runs, so that its host not answering leaves it out of reach. */
const REACHABLE_STATES: DesktopState[] = ['booting', 'ready', 'assigned', 'stopping'];

/** Whether a desktop that should run sits on a host that does not answer now (see DesktopView.unreachable). */
export function hostUnreachable(desktop: Pick<Desktop, 'id' | 'state'>): boolean {
  if (!REACHABLE_STATES.includes(desktop.state)) return false;
  return getRuntime().hypervisor.livenessUnknown?.(desktop.id) ?? false;
}

export function viewOf(desktop: Desktop): DesktopView {
  return {
    id: desktop.id,
    pool: desktop.pool_name,
    state: desktop.state,
    stage: STAGE_OF[desktop.state],
    failureReason: desktop.failure_reason,
    accelerator: desktop.accelerator,
    createdAt: desktop.created_at,
    bootedAt: desktop.booted_at,
    unreachable: hostUnreachable(desktop),
  };
}

/** The pools the user may use, each with the user's desktop in it (if any). */
export async function poolOffers(user: SessionUser): Promise<PoolOffer[]> {
  const { broker } = getRuntime();
  const [pools, desktops] = await Promise.all([broker.listPools(), broker.desktopsOfUser(user.id)]);
  return Promise.all(
    pools.map(async (pool) => {
      const desktop = desktops.find((d) => d.pool_name === pool.name);
      return {
        name: pool.name,
        title: pool.title,
        kind: pool.kind,
        memoryMiB: pool.memoryMiB,
        vcpus: pool.vcpus,
        desktop: desktop ? viewOf(desktop) : null,
        policyAt: desktop ? await broker.policyDeadline(desktop, pool) : null,
      };
    }),
  );
}

/** The idle policy of the pool of one of the user's desktops, for its console page. */
export async function idlePolicy(user: SessionUser, desktopId: string): Promise<IdlePolicyView> {
  const { broker } = getRuntime();
  const desktop = await broker.desktopOfUser(user.id, desktopId);
  const pool = await broker.getPool(desktop.pool_name);
  return { idleMinutes: pool.idleMinutes, stateless: pool.kind === 'stateless' };
}

/** How long opening a desktop of an instant pool waits for its clone before answering. */
const INSTANT_WAIT_MS = 1500;

/**
 * Gives the user their desktop of `poolName` (existing, spare or new); booting goes on after.
 * In an instant pool a new desktop is a clone that runs within a second: the answer waits for
 * it (briefly), so the page shows the desktop rather than boot progress.
 */
export async function openDesktop(user: SessionUser, poolName: string): Promise<DesktopView> {
  const { broker } = getRuntime();
  const desktop = await broker.assignDesktop(user.id, poolName);
  // Only a desktop without a disk yet can be a clone (a shut-down one boots from its own disk).
  const mayBeClone = desktop.state === 'provisioning' && desktop.template_version == null;
  if (!mayBeClone || !(await broker.getPool(poolName)).instant) return viewOf(desktop);
  await broker.waitForStart(desktop.id, INSTANT_WAIT_MS);
  return viewOf((await broker.getDesktop(desktop.id)) ?? desktop);
}

export async function desktopStatus(user: SessionUser, desktopId: string): Promise<DesktopView> {
  return viewOf(await getRuntime().broker.desktopOfUser(user.id, desktopId));
}

/** A console ticket and SPICE password for the user's own, running desktop. */
export async function issueConsoleTicket(user: SessionUser, desktopId: string, origin: string) {
  const runtime = getRuntime();
  await runtime.broker.desktopOfUser(user.id, desktopId);
  const ticket = await runtime.tickets.issue({ userId: user.id, desktopId, origin, signInSessionId: user.signInSessionId });
  await runtime.audit({ actor: user.name, action: 'console ticket', target: desktopId });
  return ticket;
}

/** A console open on a desktop, as the "open in another window" prompt describes it. */
export interface OpenConsoleView {
  id: string;
  startedAt: number;
  clientAddress: string | null;
  userAgent: string | null;
  /** True when the console belongs to the person asking (another window of theirs). */
  mine: boolean;
  /** The portal replica relaying it (FLOE_REPLICA_ID), for staff; null for the person. */
  relayedBy?: string | null;
}

/** Consoles open on the user's desktop right now (from the session records). */
export async function openConsoles(user: SessionUser, desktopId: string): Promise<OpenConsoleView[]> {
  const runtime = getRuntime();
  await runtime.broker.desktopOfUser(user.id, desktopId);
  const open = await runtime.consoleSessions.openOn(desktopId);
  // Where a staff member's console runs from (address, browser) is not the person's to see.
  return open.map((s) => ({
    id: s.id,
    startedAt: s.started_at,
    clientAddress: s.user_id === user.id ? s.client_address : null,
    userAgent: s.user_id === user.id ? s.user_agent : null,
    mine: s.user_id === user.id,
  }));
}

export interface ConsoleSessionStatus {
  id: string;
  endedAt: number | null;
  /** A ConsoleEndReason (server/consoles/end-reasons.ts); older records may hold free text. */
  endReason: string | null;
  takenOverBy: string | null;
}

/** How one of the user's console sessions on their desktop ended (or that it is still open). */
export async function consoleSessionStatus(user: SessionUser, desktopId: string, sessionId: string): Promise<ConsoleSessionStatus | null> {
  const runtime = getRuntime();
  await runtime.broker.desktopOfUser(user.id, desktopId);
  const session = await runtime.consoleSessions.get(sessionId);
  if (!session || session.desktop_id !== desktopId) return null;
  return { id: session.id, endedAt: session.ended_at, endReason: session.end_reason, takenOverBy: session.taken_over_by };
}

/** What the console-ticket routes answer: the WebSocket path, the session it starts and its SPICE password. */
export function consoleTicketBody(ticket: { ticket: string; sessionId: string; password: string; expiresAt: number }) {
  return {
    path: `/console/ws?ticket=${encodeURIComponent(ticket.ticket)}`,
    sessionId: ticket.sessionId,
    password: ticket.password,
    expiresAt: ticket.expiresAt,
  };
}

export const POWER_ACTIONS = ['shutdown', 'restart', 'reset', 'discard'] as const;
export type DesktopPowerAction = (typeof POWER_ACTIONS)[number];

/** Shut down, restart, reset or discard one of the user's own desktops. */
export async function powerDesktop(user: SessionUser, desktopId: string, action: DesktopPowerAction): Promise<DesktopView> {
  const runtime = getRuntime();
  await runtime.broker.desktopOfUser(user.id, desktopId);
  const desktop = await runtime.broker.powerAction(desktopId, action);
  await runtime.audit({ actor: user.name, action: `desktop ${action}`, target: desktopId });
  return viewOf(desktop);
}
