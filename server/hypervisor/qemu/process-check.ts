/**
 * Questions about processes asked through /proc, for VMs this Floe did not start itself
 * (left running by an earlier Floe): is a pid still alive (a zombie counts as dead), and is it
 * really the QEMU of a given desktop folder rather than a recycled pid.
 */
import fs from 'node:fs';

/** The process's argv, or undefined when it is gone. */
export function readCommandLine(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part, index, all) => part !== '' || index < all.length - 1);
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function isProcessRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (state) follows the command name in parentheses, which may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== 'x';
  } catch {
    return false;
  }
}

/** True when `pid` runs a qemu-system binary with an argument naming a file in `folder`. */
export function isQemuOfFolder(pid: number, folder: string): boolean {
  if (!isProcessRunning(pid)) return false;
  const argv = readCommandLine(pid);
  if (!argv || argv.length === 0) return false;
  const program = argv[0] ?? '';
  if (!/qemu-system/.test(program.slice(program.lastIndexOf('/') + 1))) return false;
  const prefix = folder.endsWith('/') ? folder : `${folder}/`;
  // In QEMU option lists (-drive file=..., -chardev path=...) a comma is written twice.
  const escapedPrefix = prefix.replace(/,/g, ',,');
  return argv.some((arg) => arg.includes(prefix) || arg.includes(escapedPrefix));
}

/** Resolves true once the process is gone, false if it still runs after `timeoutMs`. */
export async function waitForProcessExit(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}
