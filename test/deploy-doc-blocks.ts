/**
 * docs/deploy.md as something tests can run: its fenced blocks found by a marker they contain,
 * and its paths and names swapped for a test's own (every swap must find its text, so a document
 * that changes under a test fails it instead of being skipped); and the change a backup test
 * makes after its backup, for the restore to take away. Used by test/deploy-doc.test.ts (nginx,
 * systemd, SQLite backup) and test/postgres-backup.postgres.ts (PostgreSQL backup).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../server/config';

export const deployDoc = fs.readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8');

/** The fenced block of `language` in the document that contains `marker`. */
export function fencedBlock(language: string, marker: string): string {
  const blocks = [...deployDoc.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '');
  const block = blocks.find((text) => text.includes(marker));
  assert.ok(block, `docs/deploy.md has a \`\`\`${language} block with ${marker}`);
  return block;
}

/** Replaces every `from` (which must occur) by `to`: the document changing under the test fails it. */
export function adapt(text: string, from: string | RegExp, to: string): string {
  if (typeof from === 'string') {
    assert.ok(text.includes(from), `the document's text still contains ${from}`);
    return text.split(from).join(to);
  }
  const every = new RegExp(from.source, from.flags.includes('g') ? from.flags : `${from.flags}g`);
  assert.ok(every.test(text), `the document's text still matches ${String(from)}`);
  return text.replace(every, to);
}

/**
 * A change after a backup: an admin (`adminCookie`) adds the account "after-backup". Returns how
 * to ask a Floe at `url` for that account's page (200 while it exists, 404 once a restore took
 * it away).
 */
export async function changeAfterBackup(url: string, adminCookie: string): Promise<(url: string) => Promise<number>> {
  const added = await fetch(`${url}/api/admin/users`, {
    method: 'POST',
    headers: { cookie: adminCookie, 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ name: 'after-backup', role: 'user' }),
  });
  assert.equal(added.status, 201, 'the account after the backup is made');
  const accountPage = async (at: string) => (await fetch(`${at}/admin/users/after-backup`, { headers: { cookie: adminCookie } })).status;
  assert.equal(await accountPage(url), 200);
  return accountPage;
}
