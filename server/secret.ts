/**
 * The key that signs sign-in sessions (NEXTAUTH_SECRET). Taken from the environment; else, on
 * SQLite, made once and kept in DATA/auth-secret (mode 600), so sessions survive a restart; on
 * PostgreSQL made once and kept in the database's `settings`, so every portal replica signs
 * and reads the same cookies (a person signed in on one replica is signed in on all).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from './db/schema';

const SETTING_KEY = 'auth-secret';

export function loadAuthSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEXTAUTH_SECRET) return env.NEXTAUTH_SECRET;
  const file = path.join(dataDir, 'auth-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

/** The key shared by all replicas of one database: from the environment, else the first replica's, kept in `settings`. */
export async function loadSharedAuthSecret(db: Kysely<Database>, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.NEXTAUTH_SECRET) return env.NEXTAUTH_SECRET;
  // Two replicas starting at once: the first insert wins, both read the winner.
  await db
    .insertInto('settings')
    .values({ key: SETTING_KEY, value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', SETTING_KEY).executeTakeFirstOrThrow();
  return row.value;
}
