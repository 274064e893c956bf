/**
 * A real Floe server as a child process, for the end-to-end tests, the fault drills and the
 * two-replica test: `startFloe` runs `server/main.ts` (production build, port 0, the given data
 * folder, the demo accounts with a known password) and resolves once it prints its address;
 * `stopFloe` stops it; `signInCookie` signs in over HTTP like a browser; `qemuProcessesUnder`
 * finds QEMU processes a test left behind. Nothing here depends on a test runner.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface StartedFloe {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * Starts `server/main.ts` (with `env` on top of the test defaults; `wrapper`, e.g. `prlimit …`,
 * runs in front of node) and resolves once it prints the address it listens on (90 s at most).
 */
export async function startFloe(dataDir: string, password: string, env: Record<string, string> = {}, wrapper: string[] = []): Promise<StartedFloe> {
  const command = [...wrapper, process.execPath, '--import', 'tsx', 'server/main.ts'];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      FLOE_DATA_DIR: dataDir,
      FLOE_IMAGE_DIR: process.env.FLOE_IMAGE_DIR ?? path.join(repoRoot, '.data', 'images'),
      FLOE_DEMO: '1',
      FLOE_DEMO_PASSWORD: password,
      FLOE_SPICE_PROXY_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Floe did not start in 90 s:\n${output}`)), 90_000);
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
  return { child, url, output: () => output };
}

/** Stops a Floe server and waits for its exit (SIGKILL when `signal` says so). */
export async function stopFloe(server: StartedFloe, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill(signal);
  await exited;
}

/** Signs in through next-auth's credentials callback, as a browser would; returns the Cookie header. */
export async function signInCookie(url: string, name: string, password: string): Promise<string> {
  const csrf = await fetch(`${url}/api/auth/csrf`);
  const cookies = csrf.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await fetch(`${url}/api/auth/callback/credentials`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies, origin: url },
    body: new URLSearchParams({ csrfToken, username: name, password, json: 'true' }),
  });
  const session = response.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => /session-token/.test(c ?? ''));
  if (!session) throw new Error(`sign-in of ${name} failed (${response.status})`);
  return `${cookies}; ${session}`;
}

/** PIDs of QEMU processes whose command line mentions `dir`. */
export function qemuProcessesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('qemu-system') && cmdline.includes(dir)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
