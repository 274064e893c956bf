/**
 * The Prometheus scrape for route handlers: allowed with the bearer token in FLOE_METRICS_TOKEN
 * (compared in constant time) or for a signed-in admin.
 */
import 'server-only';
import { timingSafeEqual } from 'node:crypto';
import { getRuntime } from '@/server/runtime-registry';

export function hasMetricsToken(authorization: string | null): boolean {
  const expected = process.env.FLOE_METRICS_TOKEN;
  if (!expected || !authorization?.startsWith('Bearer ')) return false;
  const given = Buffer.from(authorization.slice('Bearer '.length));
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return getRuntime().metrics.render();
}
