/**
 * A fresh, empty database for tests: a SQLite file in a temp folder by default, or the
 * PostgreSQL database named by FLOE_TEST_DATABASE_URL (emptied first), so the same tests prove
 * the same code on both engines. Only tests import this.
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
] as const;

export async function openTestDatabase(): Promise<FloeDatabase & { dataDir: string; reopen(): Promise<FloeDatabase> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-db-'));
  const databaseUrl = process.env.FLOE_TEST_DATABASE_URL || undefined;
  const database = await openDatabase({ dataDir, databaseUrl });
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
