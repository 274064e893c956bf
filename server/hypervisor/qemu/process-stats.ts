/**
 * What a QEMU process uses, read from /proc: resident memory (VmRSS) and CPU time. CPU use in
 * percent is the CPU time gained between two readings over the wall time between them, so
 * callers keep the previous reading (the admin page's poll does).
 */
import fs from 'node:fs/promises';

export interface ProcessSample {
  pid: number;
  residentBytes: number;
  /** User + system CPU time in seconds. */
  cpuSeconds: number;
  at: number;
}

const CLOCK_TICKS = 100; // Linux USER_HZ

export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const [status, stat] = await Promise.all([
      fs.readFile(`/proc/${pid}/status`, 'utf8'),
      fs.readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { pid, residentBytes: rss ? Number(rss) * 1024 : 0, cpuSeconds: (utime + stime) / CLOCK_TICKS, at: Date.now() };
  } catch {
    return undefined;
  }
}

/** CPU use in percent of one CPU between two samples of the same process. */
export function cpuPercent(previous: ProcessSample | undefined, current: ProcessSample): number | undefined {
  if (!previous || previous.pid !== current.pid || current.at <= previous.at) return undefined;
  return (100 * (current.cpuSeconds - previous.cpuSeconds)) / ((current.at - previous.at) / 1000);
}
