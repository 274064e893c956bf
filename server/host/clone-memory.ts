/**
 * What an extra instant clone costs in memory. Clones of one snapshot start with identical
 * RAM; with KSM on, the identical pages are merged and mapped by every clone. A clone's own
 * cost is then its private memory (Private_Clean + Private_Dirty in /proc/PID/smaps_rollup):
 * what stopping it would give back. The first clone also carries the shared pages (its whole
 * resident set). PSS, the fair share, lies between the two.
 */
import fs from 'node:fs/promises';

export interface ProcessMemory {
  rssBytes: number;
  pssBytes: number;
  privateBytes: number;
}

export interface CloneMemoryCost {
  /** Clones measured. */
  clones: number;
  /** The first clone: its resident set (shared pages included). */
  firstBytes: number;
  /** Each further idle clone: its private memory (median). */
  extraBytes: number;
  /** Median proportional share (PSS). */
  pssBytes: number;
}

/** Rss, Pss and private memory of a process, or undefined when it is gone. */
export async function readProcessMemory(pid: number): Promise<ProcessMemory | undefined> {
  try {
    const text = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rssBytes: kb('Rss'), pssBytes: kb('Pss'), privateBytes: kb('Private_Clean') + kb('Private_Dirty') };
  } catch {
    return undefined;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The cost of the first and of each extra clone among these QEMU processes (null with fewer than two). */
export async function cloneMemoryCost(pids: number[]): Promise<CloneMemoryCost | null> {
  const readings = (await Promise.all(pids.map(readProcessMemory))).filter((m): m is ProcessMemory => m !== undefined);
  if (readings.length < 2) return null;
  return {
    clones: readings.length,
    firstBytes: median(readings.map((m) => m.rssBytes)),
    extraBytes: median(readings.map((m) => m.privateBytes)),
    pssBytes: median(readings.map((m) => m.pssBytes)),
  };
}
