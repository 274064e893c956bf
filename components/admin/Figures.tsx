/**
 * How the staff pages write figures: bytes in KiB/MiB/GiB, durations ("3 min 20 s"), times of
 * day in UTC (the same on the server and in every browser, so a page rendered on the server and
 * updated in the browser never disagrees), and percentages. Plain functions plus tiny
 * components; no state, so both server and client components use them.
 */

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatMiB(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024)).toLocaleString('en')} MiB`;
}

/** "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "14:05:09 UTC" today (relative to `now`), else "2026-11-29 14:05 UTC". */
export function formatTime(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '–';
  const iso = new Date(at).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10);
  return sameDay ? `${iso.slice(11, 19)} UTC` : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function formatPercent(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(digits)} %`;
}

/** A time with the full ISO time as its machine-readable value. */
export function When({ at, now }: { at: number | null | undefined; now: number }) {
  if (at === null || at === undefined) return <>–</>;
  return <time dateTime={new Date(at).toISOString()}>{formatTime(at, now)}</time>;
}

/** Desktop states in the words the staff pages use. */
export const STATE_WORDS: Record<string, string> = {
  provisioning: 'Starting',
  booting: 'Booting',
  ready: 'Ready (spare)',
  assigned: 'Running',
  stopping: 'Shutting down',
  stopped: 'Shut down',
  failed: 'Failed',
  gone: 'Gone',
};

export function StateBadge({ state }: { state: string }) {
  const tone = state === 'assigned' || state === 'ready' ? 'ready' : state === 'failed' ? 'failed' : '';
  return <span className={`badge ${tone}`}>{STATE_WORDS[state] ?? state}</span>;
}
