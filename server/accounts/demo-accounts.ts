/**
 * The demo's accounts. When the demo starts on an empty database it creates alice and bob
 * (users), helen (helpdesk) and admin (admin). Passwords come from FLOE_DEMO_PASSWORD or are
 * generated; generated ones are printed once and kept in DATA/demo-accounts.txt (mode 600) so
 * the person who started the demo can find them again. Only the hashes are in the database.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Role } from '../db/schema';
import type { Accounts } from './accounts';

export const DEMO_ACCOUNTS: { name: string; displayName: string; role: Role }[] = [
  { name: 'alice', displayName: 'Alice Martin', role: 'user' },
  { name: 'bob', displayName: 'Bob Chen', role: 'user' },
  { name: 'helen', displayName: 'Helen Okafor', role: 'helpdesk' },
  { name: 'admin', displayName: 'Floe Admin', role: 'admin' },
];

/** Creates the demo accounts that do not exist yet; returns the lines to print (name, role, password). */
export async function ensureDemoAccounts(accounts: Accounts, dataDir: string, fixedPassword?: string): Promise<string[]> {
  const file = path.join(dataDir, 'demo-accounts.txt');
  const lines: string[] = [];
  for (const account of DEMO_ACCOUNTS) {
    if (await accounts.findByName(account.name)) continue;
    const password = fixedPassword ?? randomBytes(9).toString('base64url');
    await accounts.addUser({ ...account, password });
    lines.push(`${account.name.padEnd(8)} ${account.role.padEnd(9)} ${password}`);
  }
  if (lines.length > 0 && !fixedPassword) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.appendFileSync(file, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  }
  return lines;
}
