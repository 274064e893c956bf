/**
 * Opens Floe's database and brings its schema up to date. The embedded default is a SQLite
 * file in the data folder (better-sqlite3, WAL mode); a `postgres://` DATABASE_URL selects
 * PostgreSQL with the same Kysely code and migrations.
 */
import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type Engine, migrationProvider } from './migrations';
import type { Database } from './schema';

export interface FloeDatabase {
  db: Kysely<Database>;
  engine: Engine;
  close(): Promise<void>;
}

// PostgreSQL returns BIGINT as a string; Floe's bigints are epoch milliseconds that fit a double.
pg.types.setTypeParser(20, (value) => Number(value));

/** Opens the database named by `databaseUrl` (postgres://…), else the SQLite file `DATA/floe.sqlite`. */
export async function openDatabase(options: { dataDir: string; databaseUrl?: string }): Promise<FloeDatabase> {
  const url = options.databaseUrl;
  let db: Kysely<Database>;
  let engine: Engine;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    engine = 'postgres';
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
    // A server that stops ends idle connections: an error on the pool, not a crash of Floe
    // (the health check notices the database is away; the next query reconnects).
    pool.on('error', () => undefined);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else if (url && !url.startsWith('sqlite:')) {
    throw new Error(`DATABASE_URL must start with postgres:// or sqlite: (got "${url.split(':')[0]}:")`);
  } else {
    engine = 'sqlite';
    const file = url ? url.replace(/^sqlite:(\/\/)?/, '') : path.join(options.dataDir, 'floe.sqlite');
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    // Password hashes live here: root's only. SQLite gives -wal and -shm the file's mode.
    if (file !== ':memory:') {
      fs.closeSync(fs.openSync(file, 'a', 0o600));
      for (const part of [file, `${file}-wal`, `${file}-shm`]) {
        if (fs.existsSync(part)) fs.chmodSync(part, 0o600);
      }
    }
    const sqlite = new Sqlite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  const migrator = new Migrator({ db, provider: migrationProvider(engine) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { db, engine, close: () => db.destroy() };
}
