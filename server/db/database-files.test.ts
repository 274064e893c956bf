/**
 * The SQLite file holds password hashes: it and its -wal and -shm files are 0600 and its folder
 * 0700, also when an older Floe left them world-readable.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from './database';

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

test('floe.sqlite, its -wal and -shm are 0600 in a 0700 folder', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-db-files-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dataDir = path.join(root, 'data');
  const first = await openDatabase({ dataDir, databaseUrl: undefined });
  const file = path.join(dataDir, 'floe.sqlite');
  for (const part of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(part), '600', part);
  assert.equal(mode(dataDir), '700');
  await first.close();

  // Files an older Floe left 0644 are closed up at the next start.
  fs.chmodSync(file, 0o644);
  const again = await openDatabase({ dataDir, databaseUrl: undefined });
  t.after(() => again.close());
  assert.equal(mode(file), '600');
});
