/**
 * A fresh, empty database for tests: a SQLite file in a temp folder by default, or the
 * PostgreSQL database named by FLOE_TEST_DATABASE_URL (emptied first), so the same tests prove
 * the same code on both engines. Only tests import this.
 *
 * A test run can demand an engine: with FLOE_TEST_DATABASE_ENGINE=postgres (or sqlite) opening
 * any other engine throws, so a missing or lost URL cannot quietly turn the PostgreSQL stage
 * into a second SQLite run. With FLOE_TEST_DATABASE_LOG set, each opening appends
 * "<engine> <test file>" to that file, for scripts/test.sh to check that every test file of a
 * stage really opened the engine it was run for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type FloeDatabase, openDatabase } from './database';

const TABLES = [
  'console_sessions',
  'console_tickets',
  'desktops',
  'pools',
  'audit_log',
  'users',
  'settings',
  'sign_in_sessions',
  'sign_in_throttle',
  'user_identities',
  'replicas',
] as const;

export async function openTestDatabase(): Promise<FloeDatabase & { dataDir: string; reopen(): Promise<FloeDatabase> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-db-'));
  const databaseUrl = process.env.FLOE_TEST_DATABASE_URL || undefined;
  const database = await openDatabase({ dataDir, databaseUrl });
  try {
    noteEngine(database.engine);
  } catch (error) {
    await database.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  if (database.engine === 'postgres') {
    for (const table of TABLES) await database.db.deleteFrom(table as never).execute();
  }
  return {
    ...database,
    dataDir,
    reopen: () => openDatabase({ dataDir, databaseUrl }),
    close: async () => {
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Refuses an engine other than the one the run demands, and logs which engine this test file opened. */
function noteEngine(engine: FloeDatabase['engine']): void {
  const wanted = process.env.FLOE_TEST_DATABASE_ENGINE;
  if (wanted && wanted !== engine) {
    throw new Error(
      `This test run must use ${wanted} (FLOE_TEST_DATABASE_ENGINE) but opened ${engine}: ` +
        `FLOE_TEST_DATABASE_URL is ${process.env.FLOE_TEST_DATABASE_URL ? 'set' : 'not set'}.`,
    );
  }
  const log = process.env.FLOE_TEST_DATABASE_LOG;
  if (log) fs.appendFileSync(log, `${engine} ${path.relative(process.cwd(), process.argv[1] ?? 'unknown')}\n`);
}
