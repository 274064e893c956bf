/**
 * Fixtures for the sign-in and authorization tests: a Floe server of their own per worker (so
 * locked, disabled and signed-out accounts never touch the other specs), started like
 * e2e/fixtures.ts starts one (production build, port 0, own data folder, demo accounts with a
 * known password) plus settings of the test's choosing: one demo pool without spares (no VM
 * boots unless a test opens a desktop), TCG, and sign-in locks after 3 failures. Helpers sign
 * in over HTTP, run the `npm run user` CLI against the server's database and read that
 * database directly. Teardown stops the server and every VM it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type APIRequestContext, test as base, expect } from '@playwright/test';
import Sqlite from 'better-sqlite3';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { qemuProcessesUnder } from './fixtures';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      FLOE_DATA_DIR: dataDir,
      FLOE_IMAGE_DIR: process.env.FLOE_IMAGE_DIR ?? path.join(repoRoot, '.data', 'images'),
      FLOE_ACCEL: 'tcg',
      FLOE_POOLS_FILE: poolsFile,
      FLOE_DEMO: '1',
      FLOE_DEMO_PASSWORD: password,
      FLOE_SIGN_IN_MAX_FAILURES: '3',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Floe did not start in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Floe is ready at (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Floe exited with ${code} before it was ready:\n${output}`));
    });
  });
  let url: string;
  try {
    url = await started;
  } catch (error) {
    child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    dataDir,
    password,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
      for (const vm of await hypervisor.list()) await hypervisor.destroy(vm.id);
      (hypervisor as unknown as { close?: () => void }).close?.();
      const left = qemuProcessesUnder(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
      expect(left, 'no QEMU process of this test run is left').toEqual([]);
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
