/**
 * The processes a benchmark starts and what it reads of them: child processes (they inherit the
 * file limit the runner raised, see raiseFileLimit), waited for until they print where they
 * listen and stopped at the end; their proportional memory (PSS, from
 * /proc/PID/smaps_rollup, a process and its descendants); pinning to CPUs (taskset) for
 * latency runs; and websockify from Debian's package, started with a token file so it checks
 * a token per connection as Floe checks a ticket.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { check } from './figures';

/** The file limit the benchmark asks for (itself and every process it starts). */
export const WANTED_FILE_LIMIT = 65_536;

/** USER_HZ, the unit of CPU times in /proc (100 on Linux). */
const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const benchDir = import.meta.dirname;
const repoDir = path.dirname(benchDir);
const started = new Set<ChildProcess>();

/**
 * Raises this process's file limit to WANTED_FILE_LIMIT with prlimit (this needs
 * CAP_SYS_RESOURCE, which root normally has); where that is not allowed, Node has already raised
 * the soft limit to the hard one. Processes started later inherit it. Returns the limit.
 */
export function raiseFileLimit(): number {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${WANTED_FILE_LIMIT}:${WANTED_FILE_LIMIT}`], { stdio: 'ignore' });
  } catch {
    // Not allowed: the figures say how far the hard limit let it go.
  }
  return openFileLimit(process.pid);
}

export function openFileLimit(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3]);
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** What the process printed after `listening ` on its first line. */
  address: string;
}

/** Starts a TypeScript file of this repository under Node. */
export async function startNode(file: string, args: string[] = [], nodeOptions: string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', path.join(repoDir, file), ...args], {
    cwd: repoDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let output = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^listening (\S+)/m.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening: ${output}`)));
  });
  child.stdout!.resume();
  return { child, pid: child.pid!, address };
}

/** Starts Debian's websockify with a token file: `?token=bench` leads to `target`. */
export async function startWebsockify(targetPort: number): Promise<Started & { path: string; port: number }> {
  const tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-ws-')), 'tokens');
  fs.writeFileSync(tokenFile, `bench: 127.0.0.1:${targetPort}\n`);
  const port = await freePort();
  const child = spawn('websockify', ['--token-plugin', 'TokenFile', '--token-source', tokenFile, `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    check(child.exitCode === null, 'websockify exited at start (is Debian\'s websockify installed? bench/setup.sh)');
    check(Date.now() < deadline, 'websockify did not listen within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, pid: child.pid!, address: `127.0.0.1:${port}`, path: '/?token=bench', port };
}

export async function stop(process_: Started): Promise<void> {
  const { child } = process_;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Stops whatever is still running (on the way out, also after a failure). */
export function stopAll(): void {
  for (const child of started) child.kill('SIGKILL');
}

/** PSS in bytes of a process and all its descendants. */
export function pss(pid: number): number {
  let total = 0;
  for (const each of [pid, ...descendants(pid)]) {
    try {
      const rollup = fs.readFileSync(`/proc/${each}/smaps_rollup`, 'utf8');
      total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // It exited meanwhile.
    }
  }
  return total;
}

/**
 * CPU seconds a process has used, its reaped children included (utime + stime + cutime + cstime
 * from /proc/PID/stat); read it when no child is alive (see waitForNoChildren) to count them.
 */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of stat, counted from 3 after the command's closing parenthesis.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/**
 * Waits until the process has no child left (websockify's per-connection processes, which exit
 * on their own after their client closed: seen to take over 5 s on a busy machine).
 */
export async function waitForNoChildren(pid: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (descendants(pid).length > 0) {
    check(Date.now() < deadline, `process ${pid} (${describe(pid)}) still has children after ${timeoutMs} ms: ${descendants(pid).map(describe).join('; ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A process's command line and state, for error messages ("gone" if it exited meanwhile). */
function describe(pid: number): string {
  try {
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 120);
    const state = /^State:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return `${pid} ${command || '?'} [${state}]`;
  } catch {
    return `${pid} gone`;
  }
}

export function descendants(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean).map(Number)) found.push(child, ...descendants(child));
  }
  return found;
}

/** Pins processes (every thread) to the given CPUs, e.g. '0' or '0-1'. */
export function pin(pids: number[], cpus: string): void {
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

export function allCpus(): string {
  return `0-${os.availableParallelism() - 1}`;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
