/**
 * Idle consoles: how many console channels one relay process holds and what each costs in PSS.
 * Clients open channels (upgrade with the ticket, link message) 256 at a time; a channel counts
 * as open when the stand-in desktop's link reply has come back through the relay, checked byte
 * for byte. Besides the wall-clock open rate, Floe's channels opened per CPU-second its relay
 * process used (websockify's per-connection processes are still alive then: not counted). PSS is read from /proc before the first and after the last channel of each step
 * (1,000, then on to 10,000); the open rate is channels per second over the whole step. A
 * channel takes two files in the relay (browser and desktop sockets): the runner raises the file
 * limit to 65,536 (prlimit); where the hard limit cannot be raised (no CAP_SYS_RESOURCE) a step
 * is cut to what fits and its figures name the count measured. websockify is measured at 1,000
 * (it forks a process per connection: PSS summed over them).
 */
import { ConsoleClient, spiceLinkMessage, type ConsoleEndpoint, type RelayKind } from './console-client';
import { BenchCheckError, check, report } from './figures';
import { cpuSeconds, openFileLimit, pss, startNode, startWebsockify, stop, type Started } from './processes';

const MAIN = 1;
const IN_FLIGHT = 256;
/** Files a relay process holds besides its channels' sockets (listener, stdio, Node's own). */
const FILES_BESIDES_CHANNELS = 64;
const linkReply = Buffer.concat([Buffer.from('REDQ'), Buffer.alloc(174, 1)]);

export interface IdleBenchOptions {
  /** Channel counts to measure Floe at, ascending (e.g. [1000, 10000]). */
  steps: number[];
  /** Channels to open through websockify, or 0 to skip it. */
  websockify: number;
}

export async function idleBench(options: IdleBenchOptions): Promise<void> {
  const desktop = await startNode('bench/spice-stand-in.ts');
  const running: Started[] = [desktop];
  try {
    const relay = await startNode('scripts/relay-standalone.ts', ['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${desktop.address}`]);
    running.push(relay);
    const fits = Math.floor((openFileLimit(relay.pid) - FILES_BESIDES_CHANNELS) / 2);
    const steps = options.steps.map((step) => Math.min(step, fits));
    const url = new URL(relay.address);
    await measure('floe', { kind: 'floe', host: '127.0.0.1', port: Number(url.port), path: url.pathname + url.search }, relay.pid, steps);
    if (options.websockify > 0) {
      const websockify = await startWebsockify(Number(desktop.address));
      running.push(websockify);
      await measure('websockify', { kind: 'websockify', host: '127.0.0.1', port: websockify.port, path: websockify.path }, websockify.pid, [options.websockify]);
    }
  } finally {
    for (const each of running.reverse()) await stop(each);
  }
}

async function measure(kind: RelayKind, endpoint: ConsoleEndpoint, pid: number, steps: number[]): Promise<void> {
  // A few channels first, so code and first allocations are not counted per channel.
  const warm = await openChannels(endpoint, 50);
  for (const client of warm.clients) client.close();
  await Promise.all(warm.clients.map((c) => c.closed));
  await new Promise((resolve) => setTimeout(resolve, 500));

  const before = pss(pid);
  const cpuBefore = cpuSeconds(pid);
  const clients: ConsoleClient[] = [];
  let failures = 0;
  let seconds = 0;
  try {
    for (const step of steps) {
      const started = process.hrtime.bigint();
      const opened = await openChannels(endpoint, step - clients.length);
      seconds += Number(process.hrtime.bigint() - started) / 1e9;
      clients.push(...opened.clients);
      failures += opened.failures;
      const perChannel = (pss(pid) - before) / clients.length;
      report('idle', `${kind} channels held of ${step}`, clients.length, 'channels');
      report('idle', `${kind} PSS per channel at ${step}`, perChannel / 1024, 'KiB');
      report('idle', `${kind} open rate to ${step}`, clients.length / seconds, 'channels/s');
      // What the rate would be with a whole CPU for the relay (other load does not count here).
      if (kind === 'floe') report('idle', `${kind} channels opened per relay CPU-second to ${step}`, clients.length / (cpuSeconds(pid) - cpuBefore), 'channels/CPU-s');
      if (failures > 0) break;
    }
  } finally {
    for (const client of clients) client.close();
    await Promise.all(clients.map((c) => c.closed));
  }
  if (kind === 'floe') check(failures === 0, `floe refused or dropped ${failures} idle channels`);
}

/** Opens `count` main channels, IN_FLIGHT at a time; each is open once its link reply arrived intact. */
async function openChannels(endpoint: ConsoleEndpoint, count: number): Promise<{ clients: ConsoleClient[]; failures: number }> {
  const clients: ConsoleClient[] = [];
  let failures = 0;
  let next = 0;
  const openOne = async (): Promise<void> => {
    const client = await ConsoleClient.open(endpoint, spiceLinkMessage(MAIN));
    const reply = Buffer.alloc(linkReply.length);
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      client.onPayload = (bytes, start, end) => {
        received += bytes.copy(reply, received, start, end);
        if (received === reply.length) resolve();
      };
      void client.closed.then(() => reject(new Error('closed before the link reply')));
    });
    check(reply.equals(linkReply), `${endpoint.kind}: the link reply came back different`);
    client.onPayload = () => {};
    client.socket.setTimeout(0);
    clients.push(client);
  };
  const worker = async () => {
    while (next < count) {
      next += 1;
      await openOne().catch((error: unknown) => {
        if (error instanceof BenchCheckError) throw error;
        failures += 1;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
  return { clients, failures };
}
