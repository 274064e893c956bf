/**
 * 200 parallel assignments: 200 users ask for a desktop of one pool at once (SQLite, fake
 * hypervisor). Reports ms per assignment (p50, p99) and checks that no desktop was given twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Broker } from '../server/broker/broker';
import { ConsoleSessions } from '../server/broker/console-sessions';
import { PoolDefinitionSchema } from '../server/broker/pools';
import { openDatabase } from '../server/db/database';
import { FakeHypervisor } from '../server/hypervisor/fake/fake-hypervisor';
import { check, percentile, report } from './figures';

const USERS = 200;

export async function assignBench(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-'));
  const database = await openDatabase({ dataDir });
  try {
    const hypervisor = new FakeHypervisor();
    const broker = new Broker({ db: database.db, engine: database.engine, hypervisor, sessions: new ConsoleSessions(database.db), imageDir: dataDir, log: pino({ level: 'silent' }) });
    await broker.definePools([PoolDefinitionSchema.parse({ name: 'bench', title: 'Bench', kind: 'stateless', template: 'demo', maxSize: 1000 })]);
    const times: number[] = [];
    const started = Date.now();
    const desktops = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const t0 = process.hrtime.bigint();
        const desktop = await broker.assignDesktop(`user-${i}`, 'bench');
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        return desktop;
      }),
    );
    const wallMs = Date.now() - started;
    await broker.settle();
    const duplicates = USERS - new Set(desktops.map((d) => d.id)).size;
    report('assign', `${USERS} parallel assignments, duplicates`, duplicates, 'desktops');
    check(duplicates === 0, `${duplicates} desktops were given to more than one user`);
    report('assign', 'per assignment p50', percentile(times, 50), 'ms');
    report('assign', 'per assignment p99', percentile(times, 99), 'ms');
    report('assign', `${USERS} parallel assignments, wall time`, wallMs, 'ms');
  } finally {
    await database.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
