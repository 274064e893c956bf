/**
 * The metrics as a scraper reads them: render the registry, parse the Prometheus text format,
 * and check each Floe series against what was fed in (relay figures, refusals, broker events,
 * desktops by pool and state from a real database).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Broker } from './broker/broker';
import { ConsoleSessions } from './broker/console-sessions';
import { PoolDefinitionSchema } from './broker/pools';
import { openTestDatabase } from './db/test-database';
import { FakeHypervisor } from './hypervisor/fake/fake-hypervisor';
import { FloeMetrics } from './metrics';

/** Parses Prometheus text exposition into "name{labels}" → value. */
export function parsePrometheus(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `a well-formed sample line: ${line}`);
    series.set(match[1]!, Number(match[2]));
  }
  return series;
}

test('every Floe series is exposed with the figures fed in', async () => {
  const database = await openTestDatabase();
  try {
    let broker: Broker | undefined;
    const metrics = new FloeMetrics(() => broker);
    broker = new Broker({
      db: database.db,
      engine: database.engine,
      hypervisor: new FakeHypervisor(),
      sessions: new ConsoleSessions(database.db),
      imageDir: database.dataDir,
      log: pino({ level: 'silent' }),
      observer: metrics.brokerObserver,
    });
    await broker.definePools([PoolDefinitionSchema.parse({ name: 'p', title: 'P', kind: 'persistent', template: 'demo' })]);
    await broker.assignDesktop('u1', 'p');
    await broker.assignDesktop('u2', 'p');
    await broker.settle();
    await broker.assignDesktop('u1', 'p');

    metrics.attachRelay({ activeSessions: () => [{ bytesToDesktop: 10, bytesToBrowser: 1000 }] });
    metrics.consoleSessionEnded(5, 500);
    metrics.consoleRefused('console ticket expired');
    metrics.consoleRefused('console ticket expired');
    metrics.consoleRefused('origin not allowed');

    const { contentType, body } = await metrics.render();
    assert.match(contentType, /^text\/plain/);
    const series = parsePrometheus(body);
    assert.equal(series.get('floe_console_sessions_active'), 1);
    assert.equal(series.get('floe_console_bytes_total{direction="to_desktop"}'), 15);
    assert.equal(series.get('floe_console_bytes_total{direction="to_browser"}'), 1500);
    assert.equal(series.get('floe_console_refusals_total{reason="console ticket expired"}'), 2);
    assert.equal(series.get('floe_console_refusals_total{reason="origin not allowed"}'), 1);
    assert.equal(series.get('floe_desktops{pool="p",state="assigned"}'), 2);
    assert.equal(series.get('floe_boot_duration_seconds_count{pool="p"}'), 2);
    assert.equal(series.get('floe_time_to_desktop_seconds_count{pool="p",source="boot"}'), 2);
    assert.equal(series.get('floe_time_to_desktop_seconds_count{pool="p",source="existing"}'), 1);
    assert.ok(series.has('floe_ksm_pages_sharing'));
    assert.ok(series.has('floe_process_resident_memory_bytes'));
  } finally {
    await database.close();
  }
});
