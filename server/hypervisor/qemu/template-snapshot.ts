/**
 * Template snapshots for instant clones. For a template (and its memory, vCPUs, accelerator,
 * QEMU version, the shape of the QEMU command line and a version label) Floe boots a template
 * VM once, waits for it to be ready, lets it settle, pauses it and saves its state with QMP
 * `migrate` to a unix socket that Floe listens on and writes to a file (QEMU itself spawns
 * nothing and opens no file, so this works under `-sandbox spawn=deny`). QEMU no longer runs as
 * root then (`-runas`): the socket is made for the QEMU user under a random name in a folder it
 * can pass but not list (qemu-confinement.ts), so no other desktop's QEMU can reach it. The template VM's overlay is kept
 * next to the state as the frozen disk layer the RAM belongs to. A clone is a new overlay of
 * that layer, started with `-incoming fd:3` on the state file (see qemu-hypervisor.ts).
 *
 * Layout: `ROOT/<key>/{state-<build>.bin, frozen-<build>.qcow2, meta.json}` and, once a
 * restore failed, `bad.json` with the reason. meta.json (written last) names the current
 * build's files. Snapshots are kept across restarts; a changed input is a new key. A rebuild
 * (of a bad snapshot, or a race with another Floe sharing the image folder) adds files with a
 * new build id and never moves or deletes a frozen layer: desktops' disks may sit on it.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { log } from '../../log';
import type { Accelerator, SnapshotSource, SnapshotStatus, TemplateSnapshotRef, TemplateSpec } from '../types';
import { isProcessRunning } from './process-check';
import { QEMU_BINARY, buildQemuArgs, desktopPaths } from './qemu-command';

const snapshotLog = log.child({ module: 'template-snapshot' });

/** Ids of the VMs that build snapshots start with this: Floe's own, never a person's desktop. */
export const TEMPLATE_VM_PREFIX = 'template-';
const execFileAsync = promisify(execFile);

/** Bumped when the way snapshots are made changes: every old one is then rebuilt. */
const SNAPSHOT_FORMAT = 1;
/** Migration bandwidth while saving (QEMU's default of 32 MiB/s makes a 600 MiB state take 20 s). */
const SAVE_BANDWIDTH_BYTES = 64 * 1024 ** 3;

export interface SnapshotFiles {
  folder: string;
  stateFile: string;
  frozenDisk: string;
  metaFile: string;
  badFile: string;
}

interface SnapshotMeta {
  key: string;
  /** File names (in the key's folder) of this build's state and frozen layer. */
  stateFile: string;
  frozenDisk: string;
  version: string;
  createdAt: number;
  stateBytes: number;
  buildMs: number;
}

export function snapshotFiles(root: string, key: string): SnapshotFiles {
  const folder = path.join(root, key);
  return {
    folder,
    stateFile: path.join(folder, 'state.bin'),
    frozenDisk: path.join(folder, 'frozen.qcow2'),
    metaFile: path.join(folder, 'meta.json'),
    badFile: path.join(folder, 'bad.json'),
  };
}

let qemuVersion: Promise<string> | undefined;
/** `qemu-system-x86_64 --version`'s first line, asked once per process. */
export function qemuVersionLine(): Promise<string> {
  qemuVersion ??= execFileAsync(QEMU_BINARY, ['--version']).then((out) => out.stdout.split('\n')[0]?.trim() ?? 'unknown');
  return qemuVersion;
}

/** Size and change time of a file, so that a rebuilt image makes a new key. */
async function fileIdentity(file: string | undefined): Promise<string | null> {
  if (!file) return null;
  const stat = await fs.promises.stat(file).catch(() => undefined);
  return stat ? `${file}:${stat.size}:${Math.round(stat.mtimeMs)}` : `${file}:missing`;
}

/** The key of a template's snapshot: a hash of everything a restore must match. */
export async function snapshotKey(template: TemplateSpec, accelerator: Accelerator, version: string): Promise<string> {
  // The command line with fixed paths and port: any change to devices or machine changes the key.
  const argsShape = buildQemuArgs({
    id: 'snapshot-key',
    paths: desktopPaths('/floe', 'snapshot-key', '/run/floe'),
    template,
    accelerator,
    spiceHost: '127.0.0.1',
    spicePort: 1,
  });
  const inputs = {
    format: SNAPSHOT_FORMAT,
    qemu: await qemuVersionLine(),
    accelerator,
    version,
    argsShape,
    files: await Promise.all([template.baseImage, template.kernel, template.initrd].map(fileIdentity)),
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 24);
}

/** Writes `bad.json` next to a snapshot's state: it is not used again until rebuilt. */
export async function markSnapshotBad(snapshot: TemplateSnapshotRef, reason: string): Promise<void> {
  const badFile = path.join(path.dirname(snapshot.stateFile), 'bad.json');
  await fs.promises.writeFile(badFile, `${JSON.stringify({ reason, at: Date.now() })}\n`).catch(() => undefined);
  snapshotLog.warn({ key: snapshot.key, reason }, 'template snapshot marked bad; desktops boot cold until it is rebuilt');
}

/** True when the snapshot's files are there and no restore of it has failed. */
export function isSnapshotUsable(snapshot: TemplateSnapshotRef): boolean {
  const folder = path.dirname(snapshot.stateFile);
  return fs.existsSync(snapshot.stateFile) && fs.existsSync(snapshot.frozenDisk) && !fs.existsSync(path.join(folder, 'bad.json'));
}

export type QmpRunner = <T = unknown>(command: string, args?: Record<string, unknown>) => Promise<T>;

interface MigrationStatus {
  status?: string;
  'error-desc'?: string;
}

/** Polls query-migrate until the migration completed; throws with QEMU's reason when it failed. */
export async function waitForMigration(qmp: QmpRunner, timeoutMs: number, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await qmp<MigrationStatus>('query-migrate');
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw new Error(`migration ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
    }
    if (Date.now() > deadline) throw new Error(`migration not completed within ${timeoutMs} ms (status ${info.status ?? 'none'})`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Pauses the VM and saves its state to `stateFile` (0600) through a unix socket Floe listens on
 * at `socketPath`, handed to QEMU's user by `handToQemu`. The VM stays paused. Returns the size written.
 */
export async function saveVmState(
  qmp: QmpRunner,
  socketPath: string,
  stateFile: string,
  handToQemu: (file: string) => Promise<void>,
  timeoutMs = 120_000,
): Promise<number> {
  await fs.promises.rm(socketPath, { force: true });
  const server = net.createServer();
  const written = new Promise<void>((resolve, reject) => {
    server.once('connection', (socket) => {
      server.close();
      pipeline(socket, fs.createWriteStream(stateFile, { mode: 0o600 })).then(resolve, reject);
    });
    server.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(socketPath);
  });
  // QEMU runs as its own user (-runas): the socket is that user's, 0600.
  await handToQemu(socketPath);
  try {
    await qmp('migrate-set-parameters', { 'max-bandwidth': SAVE_BANDWIDTH_BYTES });
    await qmp('stop');
    await qmp('migrate', { uri: `unix:${socketPath}` });
    await waitForMigration(qmp, timeoutMs, 50);
    await written;
  } finally {
    server.close();
    await fs.promises.rm(socketPath, { force: true });
  }
  return (await fs.promises.stat(stateFile)).size;
}

/** What the snapshot store needs of the hypervisor: start, wait, QMP, stop, and the VM's folder. */
export interface SnapshotHost {
  acceleratorDecision(): Promise<{ accelerator: Accelerator }>;
  start(spec: { id: string; template: TemplateSpec }): Promise<unknown>;
  waitReady(id: string, readiness: TemplateSpec['readiness'], timeoutMs: number): Promise<void>;
  qmpCommand<T = unknown>(id: string, command: string, args?: Record<string, unknown>): Promise<T>;
  stop(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  desktopFolder(id: string): string;
  /** A random path QEMU can reach after dropping root, and handing a file there to QEMU's user. */
  privateQemuPath(prefix: string, suffix: string): string;
  handToQemu(file: string): Promise<void>;
  /** Writes the VM's screen as PPM (templates with `steadyScreen`). */
  screendump(id: string, ppmPath: string): Promise<void>;
}

export interface TemplateSnapshotsOptions {
  host: SnapshotHost;
  /** Folder holding the snapshots (under the image folder). */
  root: string;
  /** How long the template VM runs after it is ready, before it is saved (default 1000 ms). */
  settleMs?: number;
  /** How long the template VM may take to boot (default 180 s). */
  bootTimeoutMs?: number;
}

/** The snapshot store: one build per key at a time, in the background, never blocking a start. */
export class TemplateSnapshots implements SnapshotSource {
  private readonly host: SnapshotHost;
  private readonly root: string;
  private readonly settleMs: number;
  private readonly bootTimeoutMs: number;
  private readonly builds = new Map<string, Promise<TemplateSnapshotRef>>();
  private readonly failures = new Map<string, { reason: string; at: number }>();

  constructor(options: TemplateSnapshotsOptions) {
    this.host = options.host;
    this.root = options.root;
    this.settleMs = options.settleMs ?? 1000;
    this.bootTimeoutMs = options.bootTimeoutMs ?? 180_000;
  }

  async keyOf(template: TemplateSpec, version: string): Promise<string> {
    const { accelerator } = await this.host.acceleratorDecision();
    return snapshotKey(template, accelerator, version);
  }

  async ready(template: TemplateSpec, version: string): Promise<TemplateSnapshotRef | undefined> {
    const key = await this.keyOf(template, version);
    const ref = await this.refOf(key);
    if (ref) {
      // A bad snapshot is not rebuilt by itself (a restore that always fails would loop): a new
      // version, or an admin's rebuild, makes a new one.
      return isSnapshotUsable(ref) ? ref : undefined;
    }
    // A build that failed is not retried in a loop: only after a minute, or when asked.
    const failed = this.failures.get(key);
    if (!this.builds.has(key) && (!failed || Date.now() - failed.at > 60_000)) {
      this.build(template, version).catch(() => undefined);
    }
    return undefined;
  }

  build(template: TemplateSpec, version: string): Promise<TemplateSnapshotRef> {
    return this.keyOf(template, version).then(async (key) => {
      const ref = await this.refOf(key);
      if (ref && isSnapshotUsable(ref)) return ref;
      let running = this.builds.get(key);
      if (!running) {
        running = this.buildNow(key, template, version).finally(() => this.builds.delete(key));
        this.builds.set(key, running);
      }
      return running;
    });
  }

  async status(template: TemplateSpec, version: string): Promise<SnapshotStatus> {
    const key = await this.keyOf(template, version);
    const files = snapshotFiles(this.root, key);
    if (this.builds.has(key)) return { state: 'building', key, version };
    const meta = await readJsonFile<SnapshotMeta>(files.metaFile);
    if (meta) {
      const bad = await readJsonFile<{ reason: string }>(files.badFile);
      const base = { key, version, createdAt: meta.createdAt, stateBytes: meta.stateBytes, buildMs: meta.buildMs };
      return bad ? { ...base, state: 'bad', reason: bad.reason } : { ...base, state: 'ready' };
    }
    const failed = this.failures.get(key);
    if (failed) return { state: 'failed', key, version, reason: failed.reason };
    return { state: 'none', key, version };
  }

  /** The current build of `key` as meta.json names it, or undefined when there is none. */
  private async refOf(key: string): Promise<TemplateSnapshotRef | undefined> {
    const files = snapshotFiles(this.root, key);
    const meta = await readJsonFile<SnapshotMeta>(files.metaFile);
    if (!meta?.stateFile || !meta.frozenDisk) return undefined;
    return { key, stateFile: path.join(files.folder, meta.stateFile), frozenDisk: path.join(files.folder, meta.frozenDisk) };
  }

  /**
   * Boots the template VM, saves it into a work folder and then renames that into place, so
   * a snapshot folder is either complete or absent (other Floe processes may share the image
   * folder). A bad snapshot it replaces is moved aside, not deleted: persistent desktops'
   * disks may sit on its frozen layer.
   */
  private async buildNow(key: string, template: TemplateSpec, version: string): Promise<TemplateSnapshotRef> {
    const started = Date.now();
    const final = snapshotFiles(this.root, key);
    const buildId = `${process.pid}-${started}`;
    const work = `${final.folder}.building-${buildId}`;
    const files = snapshotFiles(this.root, path.basename(work));
    const vmId = `${TEMPLATE_VM_PREFIX}${key.slice(0, 16)}`;
    snapshotLog.info({ key, version, vm: vmId }, 'building template snapshot');
    try {
      await removeAbandonedBuilds(this.root, key);
      await fs.promises.mkdir(files.folder, { recursive: true, mode: 0o700 });
      await this.host.destroy(vmId);
      await this.host.start({ id: vmId, template });
      await this.host.waitReady(vmId, template.readiness, this.bootTimeoutMs);
      await new Promise((resolve) => setTimeout(resolve, this.settleMs));
      if (template.steadyScreen) {
        const steady = await waitForSteadyScreen((file) => this.host.screendump(vmId, file), path.join(files.folder, 'screen.ppm'));
        const why = steady.blank ? 'template screen still blank' : 'template screen still changing';
        snapshotLog.info({ key, ms: steady.ms, steady: steady.steady, dumps: steady.dumps }, steady.steady ? 'template screen holds still' : `${why}; saving anyway`);
      }
      const vmFolder = this.host.desktopFolder(vmId);
      const partial = `${files.stateFile}.partial`;
      const qmp: QmpRunner = (command, args) => this.host.qmpCommand(vmId, command, args);
      // In the runtime folder, whose paths fit a socket (checkRuntimeDir).
      const socketPath = this.host.privateQemuPath('save', '.sock');
      const stateBytes = await saveVmState(qmp, socketPath, partial, (file) => this.host.handToQemu(file));
      await this.host.stop(vmId);
      await moveFile(path.join(vmFolder, 'disk.qcow2'), files.frozenDisk);
      await fs.promises.chmod(files.frozenDisk, 0o400); // read-only, root's: QEMU opens it before it drops root
      await fs.promises.rename(partial, files.stateFile);
      const meta: SnapshotMeta = {
        key,
        stateFile: `state-${buildId}.bin`,
        frozenDisk: `frozen-${buildId}.qcow2`,
        version,
        createdAt: Date.now(),
        stateBytes,
        buildMs: Date.now() - started,
      };
      // Into place under names of this build; meta.json, renamed last, makes it current.
      await fs.promises.mkdir(final.folder, { recursive: true, mode: 0o700 });
      const ref: TemplateSnapshotRef = { key, stateFile: path.join(final.folder, meta.stateFile), frozenDisk: path.join(final.folder, meta.frozenDisk) };
      await fs.promises.rename(files.frozenDisk, ref.frozenDisk);
      await fs.promises.rename(files.stateFile, ref.stateFile);
      await fs.promises.writeFile(`${final.metaFile}.${buildId}`, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
      await fs.promises.rename(`${final.metaFile}.${buildId}`, final.metaFile);
      await fs.promises.rm(final.badFile, { force: true });
      await fs.promises.rm(files.folder, { recursive: true, force: true });
      this.failures.delete(key);
      snapshotLog.info({ key, version, stateBytes, ms: meta.buildMs }, 'template snapshot ready');
      return ref;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.failures.set(key, { reason, at: Date.now() });
      snapshotLog.warn({ key, version, reason }, 'template snapshot could not be built; desktops boot cold');
      await fs.promises.rm(files.folder, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    } finally {
      await this.host.destroy(vmId).catch(() => undefined);
    }
  }
}

/**
 * Takes screen dumps every `intervalMs` until `stableDumps` in a row are the same bytes (the
 * screen held still for (stableDumps - 1) * intervalMs) or `timeoutMs` passed. A blank screen
 * (one colour: nothing painted yet) never counts as steady: measured, the Xfce template's screen
 * was still black when its ready marker came, held still black, and was saved so; every clone then
 * showed black for 10-20 s until its guest repainted.
 */
export async function waitForSteadyScreen(
  dump: (file: string) => Promise<void>,
  file: string,
  { intervalMs = 1000, stableDumps = 3, timeoutMs = 60_000 } = {},
): Promise<{ steady: boolean; blank: boolean; ms: number; dumps: number }> {
  const started = Date.now();
  let last = '';
  let same = 0;
  let dumps = 0;
  try {
    for (;;) {
      await dump(file);
      dumps++;
      const picture = await fs.promises.readFile(file);
      const blank = isBlankScreen(picture);
      const hash = createHash('sha256').update(picture).digest('hex');
      same = blank ? 0 : hash === last ? same + 1 : 1;
      last = hash;
      if (same >= stableDumps) return { steady: true, blank, ms: Date.now() - started, dumps };
      if (Date.now() - started > timeoutMs) return { steady: false, blank, ms: Date.now() - started, dumps };
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    await fs.promises.rm(file, { force: true });
  }
}

/** True when every pixel of a binary PPM (P6, 8 bits a channel) has the same colour. */
export function isBlankScreen(ppm: Buffer): boolean {
  const header = /^P6\s+\d+\s+\d+\s+255\s/.exec(ppm.toString('latin1', 0, 64));
  if (!header) return false;
  const pixels = ppm.subarray(header[0].length);
  if (pixels.length < 3) return false;
  for (let i = 3; i < pixels.length; i++) if (pixels[i] !== pixels[i % 3]) return false;
  return true;
}

/** Removes work folders of builds whose Floe process is gone (stopped in the middle of a build). */
async function removeAbandonedBuilds(root: string, key: string): Promise<void> {
  const prefix = `${key}.building-`;
  for (const name of await fs.promises.readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (pid !== process.pid && !isProcessRunning(pid)) await fs.promises.rm(path.join(root, name), { recursive: true, force: true });
  }
}

async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** rename, or copy and delete across file systems. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await fs.promises.copyFile(from, to);
    await fs.promises.rm(from, { force: true });
  }
}
