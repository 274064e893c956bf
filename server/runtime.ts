/**
 * Floe's backend, assembled: database, accounts, hypervisor, broker and console tickets. The
 * custom server creates it once and publishes it with `runtime-registry.ts`.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { Accounts } from './accounts/accounts';
import { Broker } from './broker/broker';
import { ConsoleSessions } from './broker/console-sessions';
import { ConsoleTickets } from './broker/console-tickets';
import { loadPoolFile } from './broker/pool-file';
import { type PoolDefinition, demoPools } from './broker/pools';
import { TemplateRollouts } from './broker/template-versions';
import type { FloeConfig } from './config';
import { type AuditEntry, recordAudit } from './db/audit';
import { type FloeDatabase, openDatabase } from './db/database';
import { demoTemplate } from './hypervisor/qemu/demo-template';
import { QemuHypervisor } from './hypervisor/qemu/qemu-hypervisor';
import { TemplateSnapshots } from './hypervisor/qemu/template-snapshot';
import { log as rootLog } from './log';
import { FloeMetrics } from './metrics';

/** WebSocket close code for a console closed by Floe (taken over, signed out, closed by the helpdesk). */
export const CONSOLE_CLOSED_BY_FLOE = 4001;

export interface FloeRuntime {
  config: FloeConfig;
  database: FloeDatabase;
  accounts: Accounts;
  hypervisor: QemuHypervisor;
  broker: Broker;
  /** Template snapshots (instant desktops), kept under IMAGE_DIR/snapshots. */
  snapshots: TemplateSnapshots;
  /** Template versions: publish, roll-out, roll-back. */
  rollouts: TemplateRollouts;
  tickets: ConsoleTickets;
  consoleSessions: ConsoleSessions;
  log: Logger;
  metrics: FloeMetrics;
  /** Where remote-viewer reaches this Floe's SPICE CONNECT proxy, when it runs. */
  spiceProxy?: { host: string; port: number };
  /** The console relay of this process, once the server has created it. */
  consoleRelay?: { closeSession(sessionKey: string, reason: string, code?: number): void };
  /**
   * Ends a console session on purpose (helpdesk disconnect): its record is ended at once and
   * the relay holding it closes it (this process's now, another replica's on its next sweep).
   */
  closeConsole(sessionId: string, reason: string): Promise<boolean>;
  audit(entry: AuditEntry): Promise<void>;
}

/**
 * Opens the database, defines the pools (from `options.pools`, else the pool file, else the
 * demo) and re-adopts running desktops. The reconcile loop is started by the caller.
 */
export async function createRuntime(
  config: FloeConfig,
  options: { pools?: PoolDefinition[]; bootTimeoutMs?: number } = {},
): Promise<FloeRuntime> {
  const log = rootLog;
  const pools = options.pools ?? (config.poolsFile ? loadPoolFile(config.poolsFile) : demoPools);
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const demo = demoTemplate(config.imageDir);
  const hypervisor = new QemuHypervisor({
    dataDir: path.join(config.dataDir, 'vms'),
    accelerator: config.accelerator,
    probeKernel: demo.kernel && demo.initrd ? { kernel: demo.kernel, initrd: demo.initrd } : undefined,
  });
  const consoleSessions = new ConsoleSessions(database.db);
  const snapshots = new TemplateSnapshots({ host: hypervisor, root: path.join(config.imageDir, 'snapshots'), bootTimeoutMs: options.bootTimeoutMs });
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
  });
  await broker.seedPools(pools);
  const audit = (entry: AuditEntry) => recordAudit(database.db, entry);
  await consoleSessions.endAllOpen('Floe restarted');
  await broker.recover();
  const runtime: FloeRuntime = {
    config,
    database,
    accounts: new Accounts(database.db),
    hypervisor,
    broker,
    snapshots,
    rollouts: new TemplateRollouts({ broker, store: broker.templateVersions, snapshots, imageDir: config.imageDir, audit, log: log.child({ module: 'templates' }) }),
    tickets: new ConsoleTickets(database.db, hypervisor, consoleSessions),
    consoleSessions,
    log,
    metrics,
    audit,
    async closeConsole(sessionId, reason) {
      const ended = await consoleSessions.close(sessionId, reason);
      runtime.consoleRelay?.closeSession(sessionId, reason, CONSOLE_CLOSED_BY_FLOE);
      return ended;
    },
  };
  return runtime;
}
