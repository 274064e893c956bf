/**
 * Floe's Prometheus metrics (prom-client, on a registry of its own): console sessions and bytes
 * relayed (read from the relay when scraped, never counted per chunk), ticket refusals by
 * reason, time-to-desktop and boot-duration histograms (fed by the broker's observer), desktops
 * by pool and state (from the database) and KSM sharing (from /sys).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BrokerObserver } from './broker/broker';
import type { Broker } from './broker/broker';
import { readKsm } from './host/ksm';

/** Whether Floe can serve new work (the database, its file handles), read at scrape time. */
export interface HealthFigures {
  databaseUp(): boolean;
  handlesLow(): boolean;
}

/** What the metrics read from the console relay at scrape time. */
export interface RelayFigures {
  activeSessions(): { bytesToDesktop: number; bytesToBrowser: number }[];
}

export class FloeMetrics {
  readonly registry = new Registry();
  private relay: RelayFigures | undefined;
  private health: HealthFigures | undefined;
  private readonly endedBytes = { toDesktop: 0, toBrowser: 0 };
  private readonly ticketRefusals: Counter<'reason'>;
  private readonly timeToDesktop: Histogram<'pool' | 'source'>;
  private readonly bootDuration: Histogram<'pool'>;

  constructor(broker: () => Broker | undefined) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'floe_' });
    const metrics = this;
    new Gauge({
      name: 'floe_console_sessions_active',
      help: 'Console sessions (browsers attached to a desktop) open now',
      registers,
      collect() {
        this.set(metrics.relay?.activeSessions().length ?? 0);
      },
    });
    new Counter({
      name: 'floe_console_bytes_total',
      help: 'Bytes relayed between browsers and desktops',
      labelNames: ['direction'],
      registers,
      collect() {
        const active = metrics.relay?.activeSessions() ?? [];
        const toDesktop = metrics.endedBytes.toDesktop + active.reduce((sum, s) => sum + s.bytesToDesktop, 0);
        const toBrowser = metrics.endedBytes.toBrowser + active.reduce((sum, s) => sum + s.bytesToBrowser, 0);
        this.reset();
        this.inc({ direction: 'to_desktop' }, toDesktop);
        this.inc({ direction: 'to_browser' }, toBrowser);
      },
    });
    this.ticketRefusals = new Counter({
      name: 'floe_console_refusals_total',
      help: 'Console connections refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.timeToDesktop = new Histogram({
      name: 'floe_time_to_desktop_seconds',
      help: 'From a person asking for a desktop to it being ready for them',
      labelNames: ['pool', 'source'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers,
    });
    this.bootDuration = new Histogram({
      name: 'floe_boot_duration_seconds',
      help: 'From starting a desktop VM to its guest being ready',
      labelNames: ['pool'],
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 180],
      registers,
    });
    new Gauge({
      name: 'floe_desktops',
      help: 'Desktops by pool and state',
      labelNames: ['pool', 'state'],
      registers,
      async collect() {
        this.reset();
        // With the database away the other figures are still worth scraping.
        const counts = (await broker()?.poolCounts().catch(() => undefined)) ?? {};
        for (const [pool, states] of Object.entries(counts)) {
          for (const [state, count] of Object.entries(states)) this.set({ pool, state }, count ?? 0);
        }
      },
    });
    new Gauge({
      name: 'floe_database_up',
      help: 'Whether the database takes writes (1) or Floe answers 503 and pauses reconciling (0)',
      registers,
      collect() {
        this.set(metrics.health ? Number(metrics.health.databaseUp()) : 1);
      },
    });
    new Gauge({
      name: 'floe_file_handles_low',
      help: 'Whether Floe is low on file handles and refuses new requests with 503 (limit: floe_process_max_fds)',
      registers,
      collect() {
        this.set(metrics.health ? Number(metrics.health.handlesLow()) : 0);
      },
    });
    new Gauge({
      name: 'floe_ksm_pages_sharing',
      help: 'Guest pages currently deduplicated by KSM (pages_sharing)',
      registers,
      async collect() {
        this.set((await readKsm()).pagesSharing);
      },
    });
  }

  /** The broker's observer: feeds the time-to-desktop and boot-duration histograms. */
  readonly brokerObserver: BrokerObserver = {
    desktopBooted: (pool, seconds) => this.bootDuration.observe({ pool }, seconds),
    desktopDelivered: (pool, seconds, source) => this.timeToDesktop.observe({ pool, source }, seconds),
  };

  attachHealth(health: HealthFigures): void {
    this.health = health;
  }

  attachRelay(relay: RelayFigures): void {
    this.relay = relay;
  }

  consoleSessionEnded(bytesToDesktop: number, bytesToBrowser: number): void {
    this.endedBytes.toDesktop += bytesToDesktop;
    this.endedBytes.toBrowser += bytesToBrowser;
  }

  consoleRefused(reason: string): void {
    this.ticketRefusals.inc({ reason });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
