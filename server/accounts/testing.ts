/**
 * For the accounts tests only: a fresh database (a SQLite file in a temp folder, or the
 * PostgreSQL database named by FLOE_TEST_DATABASE_URL with the tables these tests use emptied)
 * and a clock the tests move by hand.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type FloeDatabase, openDatabase } from '../db/database';

const TABLES = ['sign_in_sessions', 'sign_in_throttle', 'user_identities', 'audit_log', 'users'] as const;

export async function freshDatabase(): Promise<FloeDatabase & { dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-accounts-'));
  const database = await openDatabase({ dataDir, databaseUrl: process.env.FLOE_TEST_DATABASE_URL || undefined });
  if (database.engine === 'postgres') {
    for (const table of TABLES) await database.db.deleteFrom(table).execute();
  }
  return {
    ...database,
    dataDir,
    close: async () => {
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export class ManualClock {
  constructor(public ms = Date.UTC(2030, 0, 1, 9, 0, 0)) {}
  now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
