/**
 * The database health probe on SQLite: the database is up, goes away when it stops taking
 * writes (the connection set to query_only, which fails writes with SQLITE_READONLY as a
 * read-only file does), and comes back by itself when it takes them again. PostgreSQL stopped
 * for real is the `database` drill (scripts/drills.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Kysely, SqliteDialect } from 'kysely';
import Sqlite from 'better-sqlite3';
import pino from 'pino';
import { openDatabase } from './database';
import { DatabaseHealth } from './database-health';
import type { Database } from './schema';

describe('DatabaseHealth', () => {
  test('a SQLite database that takes no writes is "away", and is back once it does', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-health-'));
    await (await openDatabase({ dataDir })).close(); // the schema
    const sqlite = new Sqlite(path.join(dataDir, 'floe.sqlite'));
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    const health = new DatabaseHealth(db, pino({ level: 'silent' }), { timeoutMs: 2000 });
    try {
      assert.equal(await health.probe(), true);
      sqlite.pragma('query_only = 1');
      assert.equal(await health.probe(), false);
      assert.match(health.away()?.problem ?? '', /readonly/i);
      sqlite.pragma('query_only = 0');
      assert.equal(await health.probe(), true);
      assert.equal(health.away(), undefined);
    } finally {
      await db.destroy();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
