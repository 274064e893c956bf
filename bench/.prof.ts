import { ConsoleClient, spiceLinkMessage } from './console-client';
import { startNode, stop } from './processes';
import fs from 'node:fs';
const mode = process.argv[2] ?? 'stream';
const desktop = await startNode('bench/spice-stand-in.ts');
const relay = await startNode('scripts/relay-standalone.ts', ['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${desktop.address}`], ['--cpu-prof', '--cpu-prof-dir=/tmp/prof13']);
const url = new URL(relay.address);
const ep = { kind: 'floe' as const, host: '127.0.0.1', port: Number(url.port), path: url.pathname + url.search };
if (mode === 'stream') {
  const c = await ConsoleClient.open(ep, spiceLinkMessage(2, 1024));
  let got = 0;
  await new Promise<void>((r) => { c.onPayload = (b, s, e) => { got += e - s; if (got >= 1024 * 1024 * 1024) r(); }; });
  c.close();
} else {
  const c = await ConsoleClient.open(ep, spiceLinkMessage(3));
  const m = Buffer.alloc(64);
  for (let i = 0; i < 20000; i++) {
    let n = 0;
    await new Promise<void>((r) => { c.onPayload = (b, s, e) => { n += e - s; if (n >= 64) r(); }; c.send(m); });
  }
  c.close();
}
await stop(relay); await stop(desktop);
