/**
 * What every benchmark reports and how: a figure is one measured value (one JSON line
 * `{"bench","metric","value","unit","vs"}`, where `vs` names what a ratio compares against, or
 * null), collected by the runner into a readable table at the end. Also the small statistics the
 * benchmarks share (median, percentile) and the failure a benchmark raises when what it measured
 * is wrong (bytes that differ, a desktop given twice): a bench that cannot check its figures
 * must not print them.
 */

export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  /** For ratios: what the value compares against (e.g. 'websockify'); otherwise null. */
  vs: string | null;
}

/** A benchmark found that what it measured is not what it should be. */
export class BenchCheckError extends Error {}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new BenchCheckError(message);
}

const reported: Figure[] = [];

export function report(bench: string, metric: string, value: number, unit: string, vs: string | null = null): void {
  const figure: Figure = { bench, metric, value: Number(value.toPrecision(4)), unit, vs };
  reported.push(figure);
  console.log(JSON.stringify(figure));
}

export function reportedFigures(): readonly Figure[] {
  return reported;
}

export function percentile(values: readonly number[], p: number): number {
  check(values.length > 0, 'percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** The figures as an aligned text table. */
export function figureTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.bench, f.vs === null ? f.metric : `${f.metric} vs ${f.vs}`, String(f.value), f.unit]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), 0));
  return rows
    .map((r) => r.map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
