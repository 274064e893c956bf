/**
 * `npm run bench`: Floe's benchmarks, one JSON line per figure and a table at the end
 * (docs/benchmarks.md explains each and holds a dated run). The topics live in their own files:
 * relay.ts (Floe's relay vs websockify vs raw TCP), idle-consoles.ts, assign.ts, boot.ts,
 * instant-clones.ts (instant desktops: snapshot, open with no spare, clones, memory with KSM),
 * browser.ts (time to a desktop in Chromium: warm spare, no spare, page reload).
 * `npm run bench -- --short` is the quick run `npm test` uses so the bench cannot rot: the same
 * code and checks with small volumes and one round, without QEMU and the browser. The run fails (exit
 * 1) when a bench finds what it measured wrong (bytes that differ, a desktop given twice).
 * Debian's websockify is installed by bench/setup.sh.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { assignBench } from './assign';
import { bootBench } from './boot';
import { browserBench } from './browser';
import { figureTable, reportedFigures } from './figures';
import { idleBench } from './idle-consoles';
import { instantClonesBench } from './instant-clones';
import { raiseFileLimit, stopAll } from './processes';
import { relayBench } from './relay';

const { values } = parseArgs({ options: { short: { type: 'boolean', default: false }, only: { type: 'string' } } });
const short = values.short;
const topics: Record<string, () => Promise<void>> = {
  relay: () => relayBench(short ? { rounds: 1, streamMiB: 16, roundTrips: 500 } : { rounds: 5, streamMiB: 256, roundTrips: 5000 }),
  idle: () => idleBench(short ? { steps: [200], websockify: 0 } : { steps: [1000, 10_000], websockify: 1000 }),
  assign: assignBench,
  ...(short ? {} : { boot: bootBench, instant: instantClonesBench, browser: () => browserBench({ runs: 3 }) }),
};

execFileSync('bash', [new URL('setup.sh', import.meta.url).pathname], { stdio: 'inherit' });
const started = Date.now();
const fileLimit = raiseFileLimit();
console.log(`# ${new Date().toISOString()} ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, file limit ${fileLimit}${short ? ', short run' : ''}`);
process.on('exit', stopAll);
try {
  for (const [name, run] of Object.entries(topics)) {
    if (values.only === undefined || values.only.split(',').includes(name)) await run();
  }
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
console.log(`\n${figureTable(reportedFigures())}\n\n# ${Math.round((Date.now() - started) / 1000)} s`);
