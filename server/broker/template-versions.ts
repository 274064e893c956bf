/**
 * Template versions of a pool and their roll-out (what VMware calls a recompose). An admin
 * publishes a new version (the pool's template as it is now, or a new one, e.g. a new base
 * image); Floe builds its snapshot in the background, then makes it the pool's current version
 * and replaces the spares of older versions with clones of the new one. Desktops people have
 * are never touched: a stateless one is replaced when the idle policy discards it, a persistent
 * one keeps its disk and shows "older template". Rolling back makes the previous ready version
 * current again the same way. Every step is written to the audit log.
 *
 * The history lives in the settings table (`template-versions:<pool>`); a pool that never
 * published anything is at version 1. A version's snapshot is keyed by its label (`v2`), so
 * pools sharing a template at the same version share one snapshot.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuditEntry } from '../db/audit';
import type { Database } from '../db/schema';
import type { SnapshotSource, SnapshotStatus } from '../hypervisor/types';
import type { Broker } from './broker';
import { BrokerError } from './errors';
import { type PoolDefinition, templateOf } from './pools';

export interface TemplateVersion {
  version: number;
  publishedAt: number;
  by: string;
  template: PoolDefinition['template'];
  /** building: its snapshot is being made; ready: it can be (or is) current; failed: see reason. */
  state: 'building' | 'ready' | 'failed';
  reason?: string;
}

export interface TemplateVersionHistory {
  current: number;
  versions: TemplateVersion[];
}

/** The snapshot label of a version. */
export function versionLabel(version: number): string {
  return `v${version}`;
}

const settingKey = (pool: string) => `template-versions:${pool}`;

/** Reads and writes a pool's version history. */
export class TemplateVersionStore {
  constructor(private readonly db: Kysely<Database>) {}

  async history(pool: PoolDefinition): Promise<TemplateVersionHistory> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', settingKey(pool.name)).executeTakeFirst();
    if (row) return JSON.parse(row.value) as TemplateVersionHistory;
    return { current: 1, versions: [{ version: 1, publishedAt: 0, by: 'Floe', template: pool.template, state: 'ready' }] };
  }

  async current(pool: PoolDefinition): Promise<number> {
    return (await this.history(pool)).current;
  }

  async save(poolName: string, history: TemplateVersionHistory): Promise<void> {
    const value = JSON.stringify(history);
    await this.db
      .insertInto('settings')
      .values({ key: settingKey(poolName), value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}

export interface TemplateRolloutsOptions {
  broker: Broker;
  store: TemplateVersionStore;
  /** Absent (e.g. with a fake hypervisor): versions switch without building a snapshot. */
  snapshots?: SnapshotSource;
  imageDir: string;
  audit(entry: AuditEntry): Promise<void>;
  log: Logger;
}

/** What the pool page shows of a pool's template. */
export interface TemplateView {
  current: number;
  versions: TemplateVersion[];
  snapshot: SnapshotStatus | null;
  /** A publish or roll-back is under way. */
  busy: boolean;
}

export class TemplateRollouts {
  private readonly busy = new Map<string, Promise<void>>();

  constructor(private readonly options: TemplateRolloutsOptions) {}

  async view(poolName: string): Promise<TemplateView> {
    const pool = await this.options.broker.getPool(poolName);
    const history = await this.options.store.history(pool);
    let snapshot: SnapshotStatus | null = null;
    if (pool.instant && this.options.snapshots) {
      snapshot = await this.options.snapshots.status(templateOf(pool, this.options.imageDir), versionLabel(history.current)).catch(() => null);
    }
    return { ...history, snapshot, busy: this.busy.has(poolName) };
  }

  /**
   * Publishes a new version of the pool's template (`template`, or the current one rebuilt).
   * Returns at once; the snapshot is built and the version rolled out in the background.
   */
  async publish(poolName: string, actor: string, template?: PoolDefinition['template']): Promise<TemplateVersion> {
    const pool = await this.options.broker.getPool(poolName);
    this.refuseWhileBusy(poolName);
    const history = await this.options.store.history(pool);
    const version = Math.max(...history.versions.map((v) => v.version)) + 1;
    const entry: TemplateVersion = { version, publishedAt: Date.now(), by: actor, template: template ?? pool.template, state: 'building' };
    history.versions.push(entry);
    await this.options.store.save(poolName, history);
    await this.options.audit({ actor, action: 'template publish', target: poolName, detail: { version } });
    this.run(poolName, () => this.buildAndSwitch(poolName, version, actor, 'template roll-out'));
    return entry;
  }

  /** Makes the previous ready version current again (its snapshot is normally still there). */
  async rollBack(poolName: string, actor: string): Promise<TemplateVersion> {
    const pool = await this.options.broker.getPool(poolName);
    this.refuseWhileBusy(poolName);
    const history = await this.options.store.history(pool);
    const previous = history.versions
      .filter((v) => v.state === 'ready' && v.version < history.current)
      .sort((a, b) => b.version - a.version)[0];
    if (!previous) throw new BrokerError(`The pool "${pool.title}" has no earlier template version to roll back to.`, 409, {
        code: 'noEarlierTemplate',
        params: { pool: pool.title },
      });
    await this.options.audit({ actor, action: 'template roll-back', target: poolName, detail: { from: history.current, to: previous.version } });
    this.run(poolName, () => this.buildAndSwitch(poolName, previous.version, actor, 'template roll-back done'));
    return previous;
  }

  /** Waits for the pool's publish or roll-back in flight (tests, shutdown). */
  async settle(poolName: string): Promise<void> {
    await this.busy.get(poolName);
  }

  private refuseWhileBusy(poolName: string): void {
    if (this.busy.has(poolName)) throw new BrokerError('A template version of this pool is being rolled out; wait for it to finish.', 409, { code: 'templateRollingOut' });
  }

  private run(poolName: string, work: () => Promise<void>): void {
    const done = work()
      .catch((error: unknown) => this.options.log.error({ pool: poolName, err: error }, 'template roll-out failed'))
      .finally(() => this.busy.delete(poolName));
    this.busy.set(poolName, done);
  }

  private async buildAndSwitch(poolName: string, version: number, actor: string, action: string): Promise<void> {
    const { broker, store, snapshots } = this.options;
    const pool = await broker.getPool(poolName);
    const history = await store.history(pool);
    const entry = history.versions.find((v) => v.version === version);
    if (!entry) return;
    const target: PoolDefinition = { ...pool, template: entry.template };
    if (pool.instant && snapshots) {
      try {
        const snapshot = await snapshots.build(templateOf(target, this.options.imageDir), versionLabel(version));
        await this.options.audit({ actor, action: 'template snapshot ready', target: poolName, detail: { version, snapshot: snapshot.key } });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        entry.state = 'failed';
        entry.reason = reason;
        await store.save(poolName, history);
        await this.options.audit({ actor, action: 'template snapshot failed', target: poolName, detail: { version, reason } });
        return;
      }
    }
    entry.state = 'ready';
    history.current = version;
    await store.save(poolName, history);
    // The pool's template is the version's from now on (a roll-back restores the old base image too).
    await broker.definePools([{ ...(await broker.getPool(poolName)), template: entry.template }]);
    const replaced = await broker.retireOutdatedSpares(poolName, version);
    await this.options.audit({ actor, action, target: poolName, detail: { version, sparesReplaced: replaced } });
    await broker.reconcile();
  }
}
