/**
 * Floe's console relay side by side with Debian's websockify (what oVirt and OpenStack put in
 * front of spice-html5) and raw TCP (the harness's own ceiling), in the same run: the
 * production relay runs as `npm run relay:standalone` would (its own process, ticket checked),
 * websockify with a token file, both in front of the same stand-in desktop. Rounds are
 * interleaved with the order rotated; each figure is the median over rounds, and each ratio is
 * Floe's median over the other's.
 * - throughput: the desktop streams the byte pattern to 1 and to 8 connections at once; the
 *   client checks every byte (MB/s of checked bytes). Alongside, the relay's cost per byte: MB
 *   moved per CPU-second the relay process used (its forked children included, for websockify),
 *   a figure that other load on the machine disturbs far less than wall-clock throughput.
 * - round trip: 64-byte messages echoed by the desktop, one at a time, with every process pinned
 *   to one CPU (p50 and p99 in µs); each echo is checked.
 */
import { ConsoleClient, spiceLinkMessage, type ConsoleEndpoint, type RelayKind } from './console-client';
import { PatternCheck } from './byte-pattern';
import { check, median, percentile, report } from './figures';
import { allCpus, cpuSeconds, pin, startNode, startWebsockify, stop, waitForNoChildren, type Started } from './processes';

const DISPLAY = 2;
const INPUTS = 3;
const MB = 1e6;

export interface RelayBenchOptions {
  rounds: number;
  /** MiB streamed per throughput measurement (split among the connections). */
  streamMiB: number;
  roundTrips: number;
}

interface Contender {
  kind: RelayKind;
  endpoint: ConsoleEndpoint;
  pids: number[];
  /**
   * It serves each connection in a child process (websockify forks), whose CPU time counts only
   * once the child has exited and been reaped. Node contenders are not waited for: they keep
   * tsx's esbuild service as a child for their whole life (it appears when a file was not yet in
   * tsx's cache, as on a fresh clone), and it does no relay work.
   */
  forksPerConnection?: boolean;
}

export async function relayBench(options: RelayBenchOptions): Promise<void> {
  const desktop = await startNode('bench/spice-stand-in.ts');
  const desktopPort = Number(desktop.address);
  const relay = await startNode('scripts/relay-standalone.ts', ['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${desktopPort}`]);
  const relayUrl = new URL(relay.address);
  const running: Started[] = [desktop, relay];
  try {
    const contenders: Contender[] = [
      { kind: 'floe', endpoint: { kind: 'floe', host: '127.0.0.1', port: Number(relayUrl.port), path: relayUrl.pathname + relayUrl.search }, pids: [relay.pid] },
      { kind: 'tcp', endpoint: { kind: 'tcp', host: '127.0.0.1', port: desktopPort, path: '' }, pids: [] },
    ];
    const websockify = await startWebsockify(desktopPort);
    running.push(websockify);
    contenders.splice(1, 0, { kind: 'websockify', endpoint: { kind: 'websockify', host: '127.0.0.1', port: websockify.port, path: websockify.path }, pids: [websockify.pid], forksPerConnection: true });
    const order = (round: number) => contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    const results = new Map<string, number[]>();
    const add = (key: string, value: number) => results.set(key, [...(results.get(key) ?? []), value]);

    // Warm-up (JIT, page cache of the pattern), not counted.
    for (const c of contenders) await throughput(c.endpoint, 1, Math.min(16, options.streamMiB));

    for (let round = 0; round < options.rounds; round++) {
      for (const connections of [1, 8]) {
        for (const c of order(round)) {
          const cpuBefore = c.pids.length > 0 ? cpuSeconds(c.pids[0]!) : 0;
          const moved = await throughput(c.endpoint, connections, options.streamMiB);
          add(`${c.kind} throughput ${connections}`, moved.megabytes / moved.seconds);
          if (c.pids.length === 0) continue;
          if (c.forksPerConnection) await waitForNoChildren(c.pids[0]!);
          add(`${c.kind} cpu ${connections}`, moved.megabytes / (cpuSeconds(c.pids[0]!) - cpuBefore));
        }
      }
    }

    const everyone = [process.pid, desktop.pid, ...contenders.flatMap((c) => c.pids)];
    pin(everyone, '0');
    try {
      for (let round = 0; round < options.rounds; round++) {
        for (const c of order(round)) {
          const times = await roundTrips(c.endpoint, options.roundTrips);
          add(`${c.kind} rtt p50`, percentile(times, 50));
          add(`${c.kind} rtt p99`, percentile(times, 99));
        }
      }
    } finally {
      pin(everyone, allCpus());
    }

    const value = (kind: RelayKind, metric: string) => median(results.get(`${kind} ${metric}`)!);
    const figures: Array<[metric: string, key: string, unit: string]> = [
      ['throughput, 1 connection', 'throughput 1', 'MB/s'],
      ['throughput, 8 connections', 'throughput 8', 'MB/s'],
      ['bytes per relay CPU-second, 1 connection', 'cpu 1', 'MB/CPU-s'],
      ['bytes per relay CPU-second, 8 connections', 'cpu 8', 'MB/CPU-s'],
      ['pinned round trip p50', 'rtt p50', 'µs'],
      ['pinned round trip p99', 'rtt p99', 'µs'],
    ];
    for (const [metric, key, unit] of figures) {
      const measured = contenders.filter((c) => results.has(`${c.kind} ${key}`));
      for (const c of measured) report('relay', `${c.kind} ${metric}`, value(c.kind, key), unit);
      for (const other of measured.filter((c) => c.kind !== 'floe')) {
        report('relay', `floe ${metric}`, value('floe', key) / value(other.kind, key), '×', other.kind);
      }
    }
  } finally {
    for (const each of running.reverse()) await stop(each);
  }
}

/** Streams `totalMiB` through `connections` connections at once; returns the checked MB and the time. */
async function throughput(endpoint: ConsoleEndpoint, connections: number, totalMiB: number): Promise<{ megabytes: number; seconds: number }> {
  const perConnectionMiB = Math.max(1, Math.round(totalMiB / connections));
  const expected = perConnectionMiB * 1024 * 1024;
  const started = process.hrtime.bigint();
  const checks = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = await ConsoleClient.open(endpoint, spiceLinkMessage(DISPLAY, perConnectionMiB));
      const pattern = new PatternCheck();
      await new Promise<void>((resolve, reject) => {
        client.onPayload = (bytes, start, end) => {
          pattern.take(bytes, start, end);
          if (pattern.received >= expected) resolve();
        };
        void client.closed.then(() => reject(new Error(`${endpoint.kind} closed after ${pattern.received} of ${expected} bytes`)));
      });
      client.close();
      return pattern;
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const pattern of checks) {
    check(pattern.firstMismatch === -1, `${endpoint.kind}: byte ${pattern.firstMismatch} of the stream differs from what the desktop sent`);
    check(pattern.received === expected, `${endpoint.kind}: ${pattern.received} bytes received, ${expected} sent`);
  }
  return { megabytes: (connections * expected) / MB, seconds };
}

/** Sends 64-byte messages one at a time and times each echo (µs); checks every echoed byte. */
async function roundTrips(endpoint: ConsoleEndpoint, count: number): Promise<number[]> {
  const client = await ConsoleClient.open(endpoint, spiceLinkMessage(INPUTS));
  const message = Buffer.alloc(64);
  const echo = Buffer.alloc(64);
  let echoed = 0;
  let answered: (() => void) | undefined;
  client.onPayload = (bytes, start, end) => {
    const n = end - start;
    check(echoed + n <= 64, `${endpoint.kind}: more bytes echoed than sent`);
    bytes.copy(echo, echoed, start, end);
    echoed += n;
    if (echoed === 64) answered?.();
  };
  const warmUp = Math.min(500, count);
  const times: number[] = [];
  for (let i = 0; i < warmUp + count; i++) {
    message.writeUInt32LE(i, 0);
    message.fill(i & 0xff, 4);
    echoed = 0;
    const answer = new Promise<void>((resolve) => (answered = resolve));
    const t0 = process.hrtime.bigint();
    client.send(message);
    await answer;
    if (i >= warmUp) times.push(Number(process.hrtime.bigint() - t0) / 1000);
    check(echo.equals(message), `${endpoint.kind}: round trip ${i} came back different`);
  }
  client.close();
  return times;
}
