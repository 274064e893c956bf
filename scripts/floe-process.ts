/**
 * A real Floe server as a child process, for the browser tests, the fault drills and the
 * benchmark: `server/main.ts` under Node in production mode on port 0, with its own data folder,
 * the shared demo guest image and the demo accounts under a known password. `startFloe`
 * resolves once the server prints the address it listens on; `stopFloe` stops it (SIGKILL after
 * a grace period, or at once when asked) and waits for its exit; `signInCookie` signs in over
 * HTTP as a browser would. `qemuProcessesUnder` finds QEMU processes a run left behind, by their
 * data folder. Nothing here depends on a test runner.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface StartedFloe {
  child: ChildProcess;
  url: string;
  /** Everything the server printed so far (stdout and stderr). */
  output: () => string;
}

export interface StartFloeOptions {
  /** Environment on top of the defaults (which include FLOE_DEMO=1 and the password). */
  env?: Record<string, string>;
  /** A command to run Floe under, e.g. `['prlimit', '--nofile=400:400']`. */
  wrapper?: string[];
  /** How long Floe may take to listen (60 s). */
  timeoutMs?: number;
}

/** Starts `server/main.ts` and resolves once it prints `Floe is ready at URL`. */
export async function startFloe(dataDir: string, password: string, options: StartFloeOptions = {}): Promise<StartedFloe> {
  const command = [...(options.wrapper ?? []), process.execPath, '--import', 'tsx', 'server/main.ts'];
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
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Floe did not start in ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
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

/**
 * Stops a Floe server and waits for its exit: `SIGTERM` (a clean shutdown, SIGKILL if it has
 * not exited within 10 s), or `SIGKILL` at once (a crash, as the recovery tests make).
 */
export async function stopFloe(server: StartedFloe, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
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
  if (!session) throw new Error(`sign-in of ${name} failed (${response.status}): ${(await response.text()).slice(0, 300)}`);
  return `${cookies}; ${session}`;
}

/**
 * A loopback port free right now (taken for a moment and given back), for servers that need a
 * fixed port: nginx's config, a restarted Floe that must listen where the pages are.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
