/**
 * Floe's benchmarks; each prints one JSON line. Run with `npm run bench`.
 * - relay-throughput: bytes (128 MiB, or FLOE_BENCH_RELAY_MB) from a TCP "desktop" through the
 *   console relay to a WebSocket client on loopback (MB/s), and a round-trip latency (p50/p99) for small messages.
 * - assign: 200 parallel assignDesktop calls for 200 users on a SQLite database with a fake
 *   hypervisor (ms per assignment, p50/p99, and that no desktop was given twice).
 * - boot: the demo guest under real QEMU from start to ready marker (seconds, accelerator).
 * - instant desktops (bench/instant-clones.ts): snapshot, accelerator decision, open with no
 *   spare, spare replenish, 20 clones, memory per clone with KSM.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { WebSocket } from 'ws';
import { Broker } from '../server/broker/broker';
import { ConsoleSessions } from '../server/broker/console-sessions';
import { PoolDefinitionSchema } from '../server/broker/pools';
import { loadConfig, repoRoot } from '../server/config';
import { createConsoleRelay } from '../server/console/relay';
import { openDatabase } from '../server/db/database';
import { FakeHypervisor } from '../server/hypervisor/fake/fake-hypervisor';
import { demoTemplate } from '../server/hypervisor/qemu/demo-template';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { instantClonesBench } from './instant-clones';

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round = (n: number) => Math.round(n * 100) / 100;

async function relayBench(): Promise<void> {
  const payload = randomBytes(64 * 1024);
  const totalBytes = Number(process.env.FLOE_BENCH_RELAY_MB ?? 128) * 1024 * 1024;
  let echo = false;
  const desktop = net.createServer((socket) => {
    if (echo) {
      // Echo everything after the 22-byte link message (TCP may deliver both in one chunk).
      let skip = 22;
      socket.on('data', (data: Buffer) => {
        const rest = data.subarray(Math.min(skip, data.length));
        skip = Math.max(0, skip - data.length);
        if (rest.length > 0) socket.write(rest);
      });
      return;
    }
    socket.once('data', () => {
      let sent = 0;
      const pump = () => {
        while (sent < totalBytes) {
          sent += payload.length;
          if (!socket.write(payload)) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    });
  });
  desktop.listen(0, '127.0.0.1');
  await once(desktop, 'listening');
  const port = (desktop.address() as net.AddressInfo).port;
  const relay = createConsoleRelay({ resolve: async () => ({ target: { host: '127.0.0.1', port }, sessionKey: randomBytes(8).toString('hex') }) });
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => relay.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/console/ws`;
  const link = Buffer.alloc(22);
  link.write('REDQ');
  link[20] = 1;

  const ws = new WebSocket(url, 'binary');
  await once(ws, 'open');
  let received = 0;
  const started = process.hrtime.bigint();
  ws.on('message', (data: Buffer) => (received += data.length));
  ws.send(link);
  await once(ws, 'close');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  echo = true;
  const echoWs = new WebSocket(url, 'binary');
  await once(echoWs, 'open');
  echoWs.send(link);
  const rtts: number[] = [];
  const small = randomBytes(64);
  for (let i = 0; i < 2000; i++) {
    const t0 = process.hrtime.bigint();
    echoWs.send(small);
    await once(echoWs, 'message');
    rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  echoWs.close();
  await relay.close();
  server.close();
  desktop.close();
  console.log(
    JSON.stringify({
      bench: 'relay-throughput',
      bytes: received,
      seconds: round(seconds),
      megabytesPerSecond: round(received / 1e6 / seconds),
      roundTripMs: { p50: round(percentile(rtts, 50)), p99: round(percentile(rtts, 99)) },
    }),
  );
}

async function assignBench(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-'));
  const database = await openDatabase({ dataDir });
  const hypervisor = new FakeHypervisor();
  const broker = new Broker({ db: database.db, engine: database.engine, hypervisor, sessions: new ConsoleSessions(database.db), imageDir: dataDir, log: pino({ level: 'silent' }) });
  await broker.definePools([PoolDefinitionSchema.parse({ name: 'bench', title: 'Bench', kind: 'stateless', template: 'demo', maxSize: 1000 })]);
  const times: number[] = [];
  const started = Date.now();
  const desktops = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const t0 = process.hrtime.bigint();
      const desktop = await broker.assignDesktop(`user-${i}`, 'bench');
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      return desktop;
    }),
  );
  const wall = Date.now() - started;
  await broker.settle();
  await database.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'assign',
      requests: 200,
      distinctDesktops: new Set(desktops.map((d) => d.id)).size,
      wallMs: wall,
      perAssignmentMs: { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)) },
    }),
  );
}

async function bootBench(): Promise<void> {
  const { imageDir } = loadConfig();
  execFileSync('bash', [path.join(repoRoot, 'guest', 'build.sh'), imageDir], { stdio: 'ignore' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-vm-'));
  const template = demoTemplate(imageDir);
  const hypervisor = new QemuHypervisor({ dataDir, accelerator: 'auto', probeKernel: { kernel: template.kernel!, initrd: template.initrd! } });
  try {
    const t0 = Date.now();
    const vm = await hypervisor.start({ id: 'bench-boot', template });
    const running = Date.now();
    await hypervisor.waitReady('bench-boot', template.readiness, 180_000);
    const ready = Date.now();
    console.log(
      JSON.stringify({
        bench: 'boot',
        accelerator: vm.accelerator,
        qemuRunningSeconds: round((running - t0) / 1000),
        readySeconds: round((ready - t0) / 1000),
      }),
    );
  } finally {
    await hypervisor.stopAll();
    hypervisor.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await relayBench();
await assignBench();
await bootBench();
await instantClonesBench();
