/**
 * Kernel samepage merging (KSM), read and set through /sys/kernel/mm/ksm: whether it runs, how
 * fast it scans, and how much guest memory identical desktops share. QEMU marks guest RAM
 * mergeable (mem-merge=on), so identical demo desktops share most of their memory once KSM runs.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const KSM_DIR = '/sys/kernel/mm/ksm';

export interface KsmStatus {
  available: boolean;
  running: boolean;
  pagesToScan: number;
  sleepMillis: number;
  /** Distinct shared pages (what stays in memory). */
  pagesShared: number;
  /** Page mappings that point to a shared page (what would otherwise be separate copies). */
  pagesSharing: number;
  /** Memory saved: pages_sharing × page size. */
  savedBytes: number;
  fullScans: number;
}

const PAGE_SIZE = 4096;

export class KsmPermissionError extends Error {
  readonly status = 403;
  constructor(detail: string) {
    super(`Floe may not change KSM on this host (${detail}). Run Floe as root or give it write access to ${KSM_DIR}.`);
    this.name = 'KsmPermissionError';
  }
}

async function readNumber(dir: string, name: string): Promise<number> {
  return Number((await fs.readFile(path.join(dir, name), 'utf8')).trim());
}

export async function readKsm(dir = KSM_DIR): Promise<KsmStatus> {
  try {
    const [run, pagesToScan, sleepMillis, pagesShared, pagesSharing, fullScans] = await Promise.all(
      ['run', 'pages_to_scan', 'sleep_millisecs', 'pages_shared', 'pages_sharing', 'full_scans'].map((n) => readNumber(dir, n)),
    );
    return {
      available: true,
      running: run === 1,
      pagesToScan: pagesToScan!,
      sleepMillis: sleepMillis!,
      pagesShared: pagesShared!,
      pagesSharing: pagesSharing!,
      savedBytes: pagesSharing! * PAGE_SIZE,
      fullScans: fullScans!,
    };
  } catch {
    return { available: false, running: false, pagesToScan: 0, sleepMillis: 0, pagesShared: 0, pagesSharing: 0, savedBytes: 0, fullScans: 0 };
  }
}

/** Turns KSM on or off and sets its scan rate; throws KsmPermissionError when the host does not allow it. */
export async function configureKsm(change: { running?: boolean; pagesToScan?: number; sleepMillis?: number }, dir = KSM_DIR): Promise<KsmStatus> {
  const writes: [string, number][] = [];
  if (change.pagesToScan !== undefined) writes.push(['pages_to_scan', change.pagesToScan]);
  if (change.sleepMillis !== undefined) writes.push(['sleep_millisecs', change.sleepMillis]);
  if (change.running !== undefined) writes.push(['run', change.running ? 1 : 0]);
  for (const [name, value] of writes) {
    try {
      await fs.writeFile(path.join(dir, name), `${value}\n`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new KsmPermissionError(`${name}: ${code}`);
    }
  }
  return readKsm(dir);
}

export interface HostStatus {
  hostname: string;
  cpus: number;
  loadAverage: number[];
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  ksm: KsmStatus;
}

/** CPUs, memory (MemAvailable from /proc/meminfo) and KSM of this host. */
export async function readHost(ksmDir = KSM_DIR): Promise<HostStatus> {
  const meminfo = await fs.readFile('/proc/meminfo', 'utf8').catch(() => '');
  const available = /MemAvailable:\s+(\d+) kB/.exec(meminfo)?.[1];
  return {
    hostname: os.hostname(),
    cpus: os.cpus().length,
    loadAverage: os.loadavg(),
    memoryTotalBytes: os.totalmem(),
    memoryAvailableBytes: available ? Number(available) * 1024 : os.freemem(),
    ksm: await readKsm(ksmDir),
  };
}
