/**
 * Fixtures for the sign-in and authorization tests: a Floe server of their own per worker (so
 * locked, disabled and signed-out accounts never touch the other specs), started like
 * e2e/fixtures.ts starts one (production build, port 0, own data folder, demo accounts with a
 * known password) plus settings of the test's choosing: one demo pool without spares (no VM
 * boots unless a test opens a desktop), TCG, and sign-in locks after 3 failures. Helpers sign
 * in over HTTP, run the `npm run user` CLI against the server's database and read that
 * database directly. Teardown stops the server and every VM it started.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type APIRequestContext, test as base, expect } from '@playwright/test';
import Sqlite from 'better-sqlite3';
import { repoRoot } from '../scripts/floe-process';
import { type StartedFloe, cleanUpDataDir, startFloe, stopFloe } from './fixtures';


export interface TestFloe {
  url: string;
  dataDir: string;
  /** The demo accounts' password (alice, bob, helen, admin). */
  password: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts a Floe server with `env` on top of the test defaults; resolves once it listens. */
export async function startTestFloe(env: Record<string, string> = {}): Promise<TestFloe> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-e2e-auth-'));
  const password = randomBytes(12).toString('base64url');
  const poolsFile = path.join(dataDir, 'pools.json');
  fs.writeFileSync(poolsFile, JSON.stringify({ pools: [{ name: 'demo', title: 'Demo desktop', kind: 'persistent', template: 'demo', spares: 0 }] }));
  let server: StartedFloe;
  try {
    server = await startFloe(dataDir, password, { env: { FLOE_ACCEL: 'tcg', FLOE_POOLS_FILE: poolsFile, FLOE_SIGN_IN_MAX_FAILURES: '3', ...env } });
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: server.url,
    dataDir,
    password,
    output: server.output,
    async stop() {
      await stopFloe(server);
      await cleanUpDataDir(dataDir);
    },
  };
}

export const test = base.extend<object, { floe: TestFloe }>({
  floe: [
    async ({}, use) => {
      const floe = await startTestFloe();
      try {
        await use(floe);
      } finally {
        await floe.stop();
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ floe }, use) => use(floe.url),
});

export { expect };

/** Signs in over HTTP the way next-auth's client does (CSRF token, then the credentials form); returns the JSON answer. */
export async function apiSignIn(request: APIRequestContext, name: string, password: string): Promise<{ status: number; error: string | null }> {
  const csrf = (await (await request.get('/api/auth/csrf')).json()) as { csrfToken: string };
  const response = await request.post('/api/auth/callback/credentials', {
    form: { csrfToken: csrf.csrfToken, username: name, password, json: 'true' },
  });
  const body = (await response.json()) as { url: string };
  return { status: response.status(), error: new URL(body.url).searchParams.get('error') };
}

/** Runs `npm run user -- ARGS` against the server's database. */
export function userCommand(floe: TestFloe, args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/user.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, FLOE_DATA_DIR: floe.dataDir, FLOE_LOG_LEVEL: 'silent' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** Runs `work` on the server's SQLite database (WAL: safe beside the running server). */
export function withDatabase<T>(floe: TestFloe, work: (db: Sqlite.Database) => T): T {
  const db = new Sqlite(path.join(floe.dataDir, 'floe.sqlite'));
  db.pragma('busy_timeout = 5000');
  try {
    return work(db);
  } finally {
    db.close();
  }
}
