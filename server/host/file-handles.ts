/**
 * Floe's own file handles: the limit (read from /proc/self/limits, raised at start with
 * util-linux's `prlimit --pid`, since Node has no setrlimit), how many are open (counted in
 * /proc/self/fd once a second, never per request), and whether they run low. When they do,
 * the server answers new requests 503 while the consoles already open go on (they need no new
 * handle). The figures are in the log at start and in /metrics (floe_process_open_fds and
 * floe_process_max_fds from prom-client, floe_file_handles_low from here).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface FileLimit {
  soft: number;
  hard: number;
}

/** What Floe aims for at start: as many handles as the kernel allows a process, at most this. */
const WANTED_LIMIT = 1_048_576;

/** The file-handle limit of a process ("unlimited" counts as the kernel's nr_open). */
export function readFileLimit(pid: number | 'self' = 'self'): FileLimit {
  const text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/);
  const value = (field: string | undefined) => (field === 'unlimited' ? kernelMaxFiles() : Number(field));
  const limit = { soft: value(soft), hard: value(hard) };
  if (!Number.isFinite(limit.soft) || !Number.isFinite(limit.hard)) throw new Error(`cannot read the file-handle limit of process ${pid}`);
  return limit;
}

/** Sets a process's file-handle limit with prlimit (util-linux); throws with prlimit's words. */
export function setFileLimit(limit: FileLimit, pid: number = process.pid): void {
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit.soft}:${limit.hard}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`prlimit could not set the file-handle limit to ${limit.soft}:${limit.hard}: ${stderr || (error as Error).message}`);
  }
}

function kernelMaxFiles(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()) || WANTED_LIMIT;
  } catch {
    return WANTED_LIMIT;
  }
}

/**
 * Raises this process's limit as far as it may: soft and hard to the kernel's maximum when
 * privileged, else the soft limit to the hard one. Never throws: says what it did.
 */
export function raiseFileLimit(): { before: FileLimit; after: FileLimit; note: string } {
  let before: FileLimit;
  try {
    before = readFileLimit();
  } catch (error) {
    const unknown = { soft: 0, hard: 0 };
    return { before: unknown, after: unknown, note: (error as Error).message };
  }
  if (process.env.FLOE_KEEP_FILE_LIMIT === '1') return { before, after: before, note: 'kept (FLOE_KEEP_FILE_LIMIT=1)' };
  const wanted = Math.min(WANTED_LIMIT, kernelMaxFiles());
  const attempts: FileLimit[] = [{ soft: wanted, hard: wanted }, { soft: before.hard, hard: before.hard }];
  const problems: string[] = [];
  for (const attempt of attempts) {
    if (attempt.soft <= before.soft && attempt.hard <= before.hard) break;
    try {
      setFileLimit({ soft: Math.max(attempt.soft, before.soft), hard: Math.max(attempt.hard, before.hard) });
      return { before, after: readFileLimit(), note: 'raised' };
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return { before, after: before, note: problems.length ? `not raised: ${problems.join('; ')}` : 'already at the most allowed' };
}

/** Open file handles of this process; undefined when they cannot be counted (itself a sign of exhaustion). */
export function countOpenFileHandles(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

export interface FileHandleFigures {
  open: number | undefined;
  limit: number;
  /** Handles kept back: below this many free, new work is refused. */
  reserve: number;
  low: boolean;
}

/** Watches this process's file handles once a second; `low()` is what the request handler asks. */
export class FileHandleWatch {
  private figuresNow: FileHandleFigures;
  private readonly timer: NodeJS.Timeout;

  constructor(options: { intervalMs?: number; reserve?: number } = {}) {
    this.figuresNow = this.measure(options.reserve);
    this.timer = setInterval(() => {
      this.figuresNow = this.measure(options.reserve);
    }, options.intervalMs ?? 1000);
    this.timer.unref();
  }

  low(): boolean {
    return this.figuresNow.low;
  }

  figures(): FileHandleFigures {
    return this.figuresNow;
  }

  /** Measures now (tests, and callers that just saw EMFILE). */
  refresh(): FileHandleFigures {
    this.figuresNow = this.measure();
    return this.figuresNow;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private measure(reserveOption?: number): FileHandleFigures {
    let limit = this.figuresNow?.limit ?? 0;
    try {
      limit = readFileLimit().soft;
    } catch {
      // /proc unreadable: keep the last known limit; the count below says the rest
    }
    const reserve = reserveOption ?? this.figuresNow?.reserve ?? Math.max(32, Math.floor(limit / 10));
    const open = countOpenFileHandles();
    return { open, limit, reserve, low: open === undefined || open >= limit - reserve };
  }
}

/** What a person sees when Floe refuses new work for want of file handles. */
export const LOW_ON_HANDLES_MESSAGE =
  'Floe is too busy to take new requests right now (it is running out of file handles); your desktop keeps running. Try again in a minute.';

/**
 * For tests and drills: lowers this process's soft limit to what is open plus `headroom`, then
 * opens /dev/null until EMFILE. Returns the function that gives every handle and the limit back.
 */
export function exhaustFileHandles(headroom = 16): () => void {
  const before = readFileLimit();
  const open = countOpenFileHandles() ?? 0;
  setFileLimit({ soft: open + headroom, hard: before.hard });
  const held: number[] = [];
  try {
    for (;;) held.push(fs.openSync('/dev/null', 'r'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EMFILE') {
      held.forEach((fd) => fs.closeSync(fd));
      setFileLimit(before);
      throw error;
    }
  }
  return () => {
    held.forEach((fd) => fs.closeSync(fd));
    setFileLimit(before);
  };
}
