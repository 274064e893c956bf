/**
 * Questions about processes asked through /proc, for VMs this Floe did not start itself
 * (left running by an earlier Floe): is a pid alive, and is it really the QEMU of a given
 * desktop folder rather than a recycled pid.
 *
 * Every answer is alive, dead or unknown. Only proof is "dead": /proc has no such process
 * (ENOENT/ESRCH), the process is a zombie, or the pid now runs another program. Anything else
 * that goes wrong while looking (EMFILE when Floe is out of file handles, EACCES, EIO...) is
 * "unknown": the caller must leave the desktop as it is and ask again later, never destroy.
 */
import fs from 'node:fs';

export type Liveness = 'alive' | 'dead' | 'unknown';

/** Error codes that prove a file or process is not there. */
export function isNoSuchEntry(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

function isNotPermitted(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** The process's argv; undefined when it is gone; throws when /proc could not be read. */
export function readCommandLine(pid: number): string[] | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch (error) {
    if (isNoSuchEntry(error)) return undefined;
    throw error;
  }
  return raw.split('\0').filter((part, index, all) => part !== '' || index < all.length - 1);
}

/** Alive while the process exists and is not a zombie; unknown when /proc could not be read. */
export function processLiveness(pid: number): Liveness {
  if (!Number.isInteger(pid) || pid <= 0) return 'dead';
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    return isNoSuchEntry(error) ? 'dead' : 'unknown';
  }
  // Field 3 (state) follows the command name in parentheses, which may itself hold spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X' || state === 'x' ? 'dead' : 'alive';
}

/** False only on proof that the process is gone (an unknown answer counts as running). */
export function isProcessRunning(pid: number): boolean {
  return processLiveness(pid) !== 'dead';
}

/**
 * Whether `pid` is the QEMU of `folder`: alive when it runs a qemu-system binary with an
 * argument naming a file in `folder`; dead when the pid is gone or runs something else.
 */
export function qemuLiveness(pid: number, folder: string): Liveness {
  const state = processLiveness(pid);
  if (state !== 'alive') return state;
  let argv: string[] | undefined;
  try {
    argv = readCommandLine(pid);
  } catch {
    return 'unknown';
  }
  if (!argv) return 'dead';
  // An empty command line: a process whose memory is already gone because it is exiting
  // (a kill -9 caught half-way; its exit is irrevocable, so that is death), else a kernel
  // thread or a process in exec: not proof either way.
  if (argv.length === 0) return isExiting(pid) ? 'dead' : 'unknown';
  const program = argv[0] ?? '';
  if (!/qemu-system/.test(program.slice(program.lastIndexOf('/') + 1))) return 'dead';
  const prefix = folder.endsWith('/') ? folder : `${folder}/`;
  // In QEMU option lists (-drive file=..., -chardev path=...) a comma is written twice.
  const escapedPrefix = prefix.replace(/,/g, ',,');
  return argv.some((arg) => arg.includes(prefix) || arg.includes(escapedPrefix)) ? 'alive' : 'dead';
}

/** PF_EXITING in /proc/PID/stat's flags (field 9): the kernel is tearing the process down. */
const PF_EXITING = 0x4;

function isExiting(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    return state === 'Z' || state === 'X' || state === 'x' || (Number(fields[6]) & PF_EXITING) !== 0;
  } catch (error) {
    return isNoSuchEntry(error);
  }
}

/** True when `pid` runs a qemu-system binary with an argument naming a file in `folder`. */
export function isQemuOfFolder(pid: number, folder: string): boolean {
  return qemuLiveness(pid, folder) === 'alive';
}

/**
 * Pids of processes that have `file` open. Processes whose fds Floe may not read (another
 * user's) are skipped; any other failure to look throws, since "none" would then be a guess.
 */
export function processesHoldingFile(file: string): number[] {
  const holders: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${entry}/fd`);
    } catch (error) {
      if (isNoSuchEntry(error) || isNotPermitted(error)) continue;
      throw error;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${entry}/fd/${fd}`) === file) {
          holders.push(Number(entry));
          break;
        }
      } catch (error) {
        if (isNotPermitted(error)) break;
        if (!isNoSuchEntry(error)) throw error;
      }
    }
  }
  return holders;
}

/**
 * Resolves true once the process is proven gone, false if it still runs (or cannot be told
 * apart from running) after `timeoutMs`.
 */
export async function waitForProcessExit(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processLiveness(pid) !== 'dead') {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}
