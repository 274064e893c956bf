/**
 * Floe's backend, assembled: database, accounts, hypervisor, broker, console tickets and the
 * console gate (server/consoles), plus the schedule that prunes spent tickets, old sign-ins and
 * throttle rows. The custom server creates it once, connects the ways in (relay, proxy) to the
 * gate, and publishes it with `runtime-registry.ts`. Pages see it through the FloeRuntime
 * interface only.
 */
import type { PreparingPool } from './desktop-template-build';
import type { Logger } from 'pino';
import { Accounts } from './accounts/accounts';
import { Broker } from './broker/broker';
import { ConsoleSessions } from './broker/console-sessions';
import { ConsoleTickets } from './broker/console-tickets';
import { consoleAccess } from './accounts/console-access';
import { clientAddressOfRequest } from './accounts/client-address';
import { signInServices } from './accounts/services';
import { ConsoleGate } from './consoles/console-gate';
import type { ConsoleEndReason } from './consoles/end-reasons';
import type { ActiveConsoleSession } from './console/types';
import type { Hypervisor } from './hypervisor/types';
import { loadPoolFile } from './broker/pool-file';
import { type PoolDefinition, demoPools } from './broker/pools';
import { TemplateRollouts } from './broker/template-versions';
import type { FloeConfig } from './config';
import { type AuditEntry, recordAudit } from './db/audit';
import { type FloeDatabase, openDatabase } from './db/database';
import { DatabaseHealth } from './db/database-health';
import type { LibvirtHypervisor } from './hypervisor/libvirt/libvirt-hypervisor';
import { TEMPLATE_VM_PREFIX } from './hypervisor/qemu/template-snapshot';
import { selectHypervisor } from './hypervisor/select';
import type { SnapshotSource } from './hypervisor/types';
import { log as rootLog } from './log';
import { FloeMetrics } from './metrics';
import { reconcileLease } from './replicas/reconcile-lease';
import { ReplicaDuties } from './replicas/replica-duties';

/** What pages may ask of the consoles this process carries. */
export interface LiveConsoles {
  /** Live consoles of this process (browser and remote-viewer), with their bytes so far. */
  liveSessions(): ActiveConsoleSession[];
  /**
   * Ends a console session on purpose (staff): its record is ended at once and the way in
   * holding it closes it (this process's now, another replica's on its next sweep).
   */
  closeConsole(sessionId: string, reason: ConsoleEndReason, by?: string): Promise<boolean>;
}

/** How often spent tickets, old sign-ins and old throttle rows are deleted. */
const PRUNE_EVERY_MS = 10 * 60_000;

export interface FloeRuntime {
  config: FloeConfig;
  database: FloeDatabase;
  /** Whether the database takes writes now (probed once a second once started). */
  databaseHealth: DatabaseHealth;
  accounts: Accounts;
  hypervisor: Hypervisor;
  broker: Broker;
  /** Template snapshots (instant desktops), kept under IMAGE_DIR/snapshots; absent with the libvirt driver. */
  snapshots: SnapshotSource | undefined;
  /** The libvirt driver and its hosts (FLOE_HYPERVISOR=libvirt); absent with the embedded QEMU driver. */
  libvirt: LibvirtHypervisor | undefined;
  /** Template versions: publish, roll-out, roll-back. */
  rollouts: TemplateRollouts;
  tickets: ConsoleTickets;
  consoleSessions: ConsoleSessions;
  log: Logger;
  metrics: FloeMetrics;
  consoles: LiveConsoles;
  /** Pools whose template is still being built (the demo's Desktop pool): shown with progress until they exist. */
  preparingPools: PreparingPool[];
  /** Where remote-viewer reaches this Floe's SPICE CONNECT proxy, when it runs. */
  spiceProxy?: { host: string; port: number; tls: { ca: string; subject: string } };
  audit(entry: AuditEntry): Promise<void>;
  /** Deletes spent tickets, sign-ins ended long ago and old throttle rows (also on a schedule: startPruning). */
  prune(): Promise<void>;
}

/** The runtime as server/main.ts holds it: the gate itself, to connect the relay and the proxy. */
export interface ServerRuntime extends FloeRuntime {
  consoles: ConsoleGate;
  /** Starts pruning on a schedule; returns its stop. */
  startPruning(): () => void;
  /** The reconcile lease and heartbeat among replicas sharing the database (server/replicas). */
  replicas: ReplicaDuties;
}

/**
 * Opens the database, defines the pools (from `options.pools`, else the pool file, else the
 * demo) and re-adopts running desktops. The reconcile loop is started by the caller.
 */
export async function createRuntime(
  config: FloeConfig,
  options: { pools?: PoolDefinition[]; bootTimeoutMs?: number } = {},
): Promise<ServerRuntime> {
  const log = rootLog;
  const pools = options.pools ?? (config.poolsFile ? loadPoolFile(config.poolsFile) : demoPools);
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const { hypervisor, snapshots, libvirt } = selectHypervisor(config, { bootTimeoutMs: options.bootTimeoutMs });
  const consoleSessions = new ConsoleSessions(database.db, config.replicaId);
  let broker: Broker | undefined;
  const metrics = new FloeMetrics(() => broker);
  broker = new Broker({
    observer: metrics.brokerObserver,
    db: database.db,
    sessions: consoleSessions,
    engine: database.engine,
    hypervisor,
    imageDir: config.imageDir,
    log: log.child({ module: 'broker' }),
    bootTimeoutMs: options.bootTimeoutMs,
    snapshots,
    // A template VM belongs to its snapshot build, which replaces a leftover one itself.
    notDesktop: (id) => id.startsWith(TEMPLATE_VM_PREFIX),
    replicaId: config.replicaId,
  });
  await broker.seedPools(pools);
  const audit = (entry: AuditEntry) => recordAudit(database.db, entry);
  // Only this replica's own consoles ended with it; the host's VMs are adopted by the replica
  // that holds the reconcile lease (always this one on SQLite), now or when it takes the lease.
  await consoleSessions.endOpenRelayedHere('floe-stopped');
  const replicas = new ReplicaDuties({
    db: database.db,
    replicaId: config.replicaId,
    lease: reconcileLease(database.engine, config.databaseUrl, config.replicaId),
    sessions: consoleSessions,
    recover: (liveReplicas) => broker.recover({ liveReplicas }),
    reconcileSoon: () => broker.reconcileNow(),
    log: log.child({ module: 'replicas' }),
  });
  await replicas.tick();
  const signIn = signInServices(database.db);
  const tickets = new ConsoleTickets(database.db, hypervisor);
  const consoles = new ConsoleGate({
    tickets,
    records: consoleSessions,
    browserSignIn: (req) => consoleAccess(req, database.db),
    signInLive: (key, userId) => signIn.sessions.isLive(key, userId),
    clientAddress: (req) => clientAddressOfRequest(req) ?? undefined,
    log: log.child({ module: 'consoles' }),
    onRefusal: (reason) => metrics.consoleRefused(reason),
    onSessionBytes: (toDesktop, toBrowser) => metrics.consoleSessionEnded(toDesktop, toBrowser),
  });
  const prune = async () => {
    await tickets.prune();
    await signIn.sessions.prune();
    await signIn.throttle.prune();
  };
  return {
    config,
    database,
    databaseHealth: new DatabaseHealth(database.db, log.child({ module: 'database' })),
    accounts: new Accounts(database.db),
    hypervisor,
    broker,
    snapshots,
    libvirt,
    preparingPools: [],
    rollouts: new TemplateRollouts({ broker, store: broker.templateVersions, snapshots, imageDir: config.imageDir, audit, log: log.child({ module: 'templates' }) }),
    tickets,
    consoleSessions,
    consoles,
    log,
    metrics,
    audit,
    prune,
    replicas,
    startPruning() {
      const run = () => void prune().catch((error: unknown) => log.error({ err: error }, 'pruning failed'));
      run();
      const timer = setInterval(run, PRUNE_EVERY_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
