/**
 * How the staff pages write figures, in the page's language (next-intl): bytes in KiB/MiB/GiB,
 * durations ("3 min 20 s"), times in the person's time zone (its name shown, as the audit
 * filters are in UTC), percentages, and desktop states in words. Tiny components without state
 * that use next-intl's hooks, so server pages and client components both render them; the
 * server and the browser share the locale and time zone (NextIntlClientProvider), so a page
 * rendered on the server and updated in the browser never disagrees.
 */
import { useFormatter, useTranslations } from 'next-intl';

const MIB = 1024 * 1024;

export function Bytes({ bytes }: { bytes: number | null | undefined }) {
  const format = useFormatter();
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return <>–</>;
  if (bytes < 1024) return <>{format.number(bytes)} B</>;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 ? 0 : 1;
  return (
    <>
      {format.number(value, { minimumFractionDigits: digits, maximumFractionDigits: digits })} {units[unit]}
    </>
  );
}

export function MiB({ bytes }: { bytes: number }) {
  const format = useFormatter();
  return <>{format.number(Math.round(bytes / MIB))} MiB</>;
}

/** "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function Duration({ ms }: { ms: number | null | undefined }) {
  const t = useTranslations('Figures');
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return <>–</>;
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return <>{t('seconds', { s })}</>;
  const m = Math.floor(s / 60);
  if (m < 60) return <>{t('minutes', { m, s: s % 60 })}</>;
  const h = Math.floor(m / 60);
  if (h < 24) return <>{t('hours', { h, m: m % 60 })}</>;
  return <>{t('days', { d: Math.floor(h / 24), h: h % 24 })}</>;
}

export function Percent({ value, digits = 0 }: { value: number | null | undefined; digits?: number }) {
  const format = useFormatter();
  if (value === null || value === undefined || !Number.isFinite(value)) return <>–</>;
  return <>{format.number(value, { minimumFractionDigits: digits, maximumFractionDigits: digits })} %</>;
}

/**
 * A time with the full ISO time as its machine-readable value: the time of day when it is on
 * the same day as `now` ("14:05:09 UTC"), else the date and time ("29 Nov 2026, 14:05 UTC").
 */
export function When({ at, now }: { at: number | null | undefined; now: number }) {
  const format = useFormatter();
  if (at === null || at === undefined) return <>–</>;
  const sameDay = format.dateTime(at, { dateStyle: 'short' }) === format.dateTime(now, { dateStyle: 'short' });
  const text = sameDay
    ? format.dateTime(at, { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' })
    : format.dateTime(at, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  return <time dateTime={new Date(at).toISOString()}>{text}</time>;
}

/** Desktop states (the broker's) the staff pages name. */
export const DESKTOP_STATES = ['provisioning', 'booting', 'ready', 'assigned', 'stopping', 'stopped', 'failed', 'gone'] as const;
export type DesktopStateName = (typeof DESKTOP_STATES)[number];
export const isDesktopState = (state: string): state is DesktopStateName => (DESKTOP_STATES as readonly string[]).includes(state);

/** A desktop state in the words the staff pages use ("Ready (spare)"); an unknown one as it is. */
export function useStateWords(): (state: string) => string {
  const t = useTranslations('Figures.state');
  return (state) => (isDesktopState(state) ? t(state) : state);
}

/** A desktop whose host does not answer (libvirt hosts): beside its state, which it keeps. */
export function UnreachableBadge() {
  const t = useTranslations('Figures');
  return <span className="badge failed spaced">{t('unreachable')}</span>;
}

export function StateBadge({ state }: { state: string }) {
  const words = useStateWords();
  const tone = state === 'assigned' || state === 'ready' ? 'ready' : state === 'failed' ? 'failed' : '';
  return <span className={`badge ${tone}`}>{words(state)}</span>;
}
