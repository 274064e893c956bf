/**
 * The embedded hypervisor: one detached qemu-system-x86_64 process per desktop, driven over
 * QMP, shown over SPICE on loopback. Everything needed to find a VM again lives in its folder
 * `DATA/desktops/<id>/` (see qemu-command.ts), so a Floe that was restarted, even after a
 * kill -9, adopts the VMs the previous one left running: `list()` reads each vm.json, checks
 * that the pid is alive and is QEMU for that folder, and talks to it over its QMP socket.
 *
 * A QEMU that dies on its own (crash, kill -9, guest power-off) is noticed through its child
 * exit, its QMP socket closing, or a pid check every second, and reported to the `onExit`
 * listeners; stops that Floe asked for are not reported. Only proof counts as an exit (see
 * process-check.ts): when /proc cannot be read (Floe out of file handles...) a VM is left as
 * it is, with a warning, and looked at again on the next check; a disk is deleted only once
 * no process has it open.
 *
 * Confinement (qemu-confinement.ts): QEMU runs as the QEMU user with a sandbox and a bare
 * environment; desktop folders are 0700 and disks 0600, root's, opened by QEMU before it drops.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { log } from '../../log';
import { PerIdQueue } from '../per-id-queue';
import {
  type AcceleratorChoice,
  type DesktopSpec,
  type Hypervisor,
  LivenessUnknownError,
  type Readiness,
  type TemplateSnapshotRef,
  type TemplateSpec,
  type VmExitListener,
  type VmInfo,
} from '../types';
import { type AcceleratorDecision, resolveAccelerator } from './accelerator';
import { ensureGuestFirewall } from '../../host/guest-firewall';
import { findFreePort } from './free-port';
import { CLONE_HOOK, runCloneHook, setGuestTime, waitForGuestAgent } from './guest-agent';
import {
  isNoSuchEntry,
  isProcessRunning,
  processesHoldingFile,
  qemuLiveness,
  waitForProcessExit,
} from './process-check';
import { QmpClient, QmpClosedError } from './qmp-client';
import {
  type QemuConfinement,
  confinementArgs,
  handToQemu,
  openRuntimeFolderForQemu,
  privateQemuPath,
  qemuEnvironment,
  resolveConfinement,
} from './qemu-confinement';
import {
  DESKTOP_FILES,
  type DesktopPaths,
  QEMU_BINARY,
  buildQemuArgs,
  checkRuntimeDir,
  defaultRuntimeDir,
  desktopPaths,
  peerQmpSocketOf,
} from './qemu-command';
import { isSnapshotUsable, markSnapshotBad, waitForMigration } from './template-snapshot';

const qemuLog = log.child({ module: 'qemu' });
const execFileAsync = promisify(execFile);

export interface QemuHypervisorOptions {
  dataDir: string;
  /** Short folder for the VMs' unix sockets (default: see defaultRuntimeDir); checked here. */
  runtimeDir?: string;
  accelerator: AcceleratorChoice;
  /** Kernel and initrd booted under KVM to check that KVM runs guests (`auto` only). */
  probeKernel?: { kernel: string; initrd: string };
  /** Address SPICE listens on (default 127.0.0.1; the relay connects there). */
  spiceHost?: string;
  /** How often the pids of running VMs are checked (default 1000 ms). */
  exitPollMs?: number;
  /** Grace period between QMP quit and SIGKILL in stop (default 5000 ms). */
  stopGraceMs?: number;
  /**
   * Only look, never adopt: `list()` reads the folders and the process table without taking
   * the VMs' QMP sockets (QEMU serves one QMP client, which belongs to the running Floe). For
   * tests and tools that watch a live Floe. Default false.
   */
  observeOnly?: boolean;
  /** Who QEMU runs as (default: resolveConfinement(), the floe-qemu user when Floe is root). */
  confinement?: QemuConfinement;
}

/** What vm.json holds: the VmInfo plus what waitReady needs after a reset. */
interface VmRecord extends VmInfo {
  /** waitReady looks for the serial marker from this byte on (moved by reset). */
  serialReadyOffset?: number;
  /** Where this QEMU's sockets are (absent in records of Floe versions that kept them in the folder). */
  qmpSocket?: string;
  agentSocket?: string;
}

interface RunningVm {
  record: VmRecord;
  paths: DesktopPaths;
  /** Set when this Floe started the QEMU; absent for adopted VMs. */
  child?: ChildProcess;
  qmp?: QmpClient;
  qmpConnecting?: Promise<QmpClient>;
  /** Another process (a Floe replica that drives this VM) holds its QMP socket: commands go to the peer socket. */
  qmpHeldElsewhere?: boolean;
  pollTimer?: NodeJS.Timeout;
  /** Floe asked it to stop: its exit is not reported to listeners. */
  stopping: boolean;
  gone: boolean;
  exitReason?: string;
  /** Reason from QEMU's last SHUTDOWN event (guest-shutdown, host-qmp-quit...). */
  shutdownReason?: string;
  /** Set while the pid check cannot tell (warned once, cleared when it can again). */
  livenessUnknown?: boolean;
}

const ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
const START_ATTEMPTS = 3;
const QMP_READY_TIMEOUT_MS = 15_000;
/** How long a clone's state may take to load. */
const RESTORE_TIMEOUT_MS = 60_000;

class SpiceListenError extends Error {}

/** QMP's socket accepted the connection but QEMU serves another client on it. */
const isNoGreeting = (error: unknown) => error instanceof Error && /no greeting/.test(error.message);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class QemuHypervisor implements Hypervisor {
  readonly dataDir: string;
  readonly runtimeDir: string;
  private readonly choice: AcceleratorChoice;
  private readonly probeKernel: { kernel: string; initrd: string } | undefined;
  private readonly spiceHost: string;
  private readonly exitPollMs: number;
  private readonly stopGraceMs: number;
  private readonly vms = new Map<string, RunningVm>();
  /** Starts under way (see startsSettled). */
  private readonly starting = new Set<Promise<VmInfo>>();
  private readonly queue = new PerIdQueue();
  private readonly listeners: VmExitListener[] = [];
  private decision: Promise<AcceleratorDecision> | undefined;
  private readonly observeOnly: boolean;
  readonly confinement: QemuConfinement;

  constructor(options: QemuHypervisorOptions) {
    this.dataDir = options.dataDir;
    this.choice = options.accelerator;
    this.probeKernel = options.probeKernel;
    this.spiceHost = options.spiceHost ?? '127.0.0.1';
    this.exitPollMs = options.exitPollMs ?? 1000;
    this.stopGraceMs = options.stopGraceMs ?? 5000;
    this.observeOnly = options.observeOnly ?? false;
    this.runtimeDir = options.runtimeDir ?? defaultRuntimeDir(this.dataDir);
    // At start, not at the first desktop: a folder whose socket paths cannot work stops Floe here.
    checkRuntimeDir(this.runtimeDir);
    this.confinement = options.confinement ?? resolveConfinement();
    let blocked: string[];
    try {
      fs.mkdirSync(this.runtimeDir, { recursive: true, mode: 0o700 });
      blocked = openRuntimeFolderForQemu(this.runtimeDir, this.confinement.user);
    } catch (error) {
      throw new Error(`cannot create the runtime folder for QEMU's sockets ${this.runtimeDir}: ${(error as Error).message}`);
    }
    if (!this.observeOnly) qemuLog.info({ qemuUser: this.confinement.user?.name ?? null }, this.confinement.note);
    if (blocked.length > 0) {
      qemuLog.warn({ blocked }, `the QEMU user cannot pass ${blocked.join(', ')}: template snapshots and screen dumps will fail; use a runtime folder under /run (FLOE_RUNTIME_DIR)`);
    }
  }

  /** A random path in the runtime folder for a file QEMU opens after dropping root (see qemu-confinement.ts). */
  privateQemuPath(prefix: string, suffix: string): string {
    return privateQemuPath(this.runtimeDir, prefix, suffix);
  }

  /** Gives a file Floe made for QEMU to the QEMU user (0600). */
  handToQemu(file: string): Promise<void> {
    return handToQemu(file, this.confinement.user);
  }

  /** The accelerator new VMs get, and why; resolved once per instance and logged then. */
  acceleratorDecision(): Promise<AcceleratorDecision> {
    const verdictFile = path.join(this.dataDir, 'accelerator.json');
    this.decision ??= resolveAccelerator(this.choice, this.probeKernel, { verdictFile }).then((decision) => {
      qemuLog.info({ accelerator: decision.accelerator, choice: this.choice }, `accelerator ${decision.accelerator}: ${decision.reason}`);
      return decision;
    });
    return this.decision;
  }

  onExit(listener: VmExitListener): void {
    this.listeners.push(listener);
  }

  /** The guest's serial port output (the demo guest prints its ready marker there). */
  serialLogPath(id: string): string {
    return this.paths(id).serialLog;
  }

  /** The socket of the guest's qemu-guest-agent channel (guest-agent.ts talks to it). */
  agentSocketPath(id: string): string {
    return this.paths(id).agentSocket;
  }

  /** The desktop's folder (disk, sockets, logs). */
  desktopFolder(id: string): string {
    return this.paths(id).folder;
  }

  /**
   * Resolves once no start is under way (or after `timeoutMs`). A VM's record is written only
   * once its QEMU answers: a Floe that exits in the middle of a start leaves a QEMU nothing can
   * find again, so Floe's shutdown waits here first.
   */
  async startsSettled(timeoutMs: number): Promise<void> {
    // The starts under way now: Floe's shutdown has stopped reconciling, so none begins after.
    if (this.starting.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.starting]), late]);
    clearTimeout(timer);
  }

  async start(spec: DesktopSpec): Promise<VmInfo> {
    const started = this.startTracked(spec);
    this.starting.add(started);
    try {
      return await started;
    } finally {
      this.starting.delete(started);
    }
  }

  private async startTracked(spec: DesktopSpec): Promise<VmInfo> {
    const { id, template, snapshot } = spec;
    this.paths(id); // validates the id
    return this.withLock(id, async () => {
      const existing = await this.find(id);
      if (existing) {
        qemuLog.info({ id, pid: existing.record.pid }, 'start: VM already running, reusing it');
        return toInfo(existing.record);
      }
      const paths = this.paths(id);
      await checkTemplateFiles(template);
      const newDesktop = !fs.existsSync(paths.disk);
      try {
        await fs.promises.mkdir(paths.folder, { recursive: true, mode: 0o700 });
        await fs.promises.mkdir(paths.sockets, { recursive: true, mode: 0o700 });
        // A desktop without a disk yet is a clone of the template's snapshot, when there is one.
        let restore = snapshot && newDesktop && isSnapshotUsable(snapshot) ? snapshot : undefined;
        await ensureOverlayDisk(paths.disk, restore ? restore.frozenDisk : template.baseImage);
        const { accelerator } = await this.acceleratorDecision();
        await removeRuntimeFiles(paths);
        for (let attempt = 1; ; attempt++) {
          const spicePort = await findFreePort(this.spiceHost);
          try {
            return await this.launch(id, paths, template, accelerator, spicePort, restore);
          } catch (error) {
            if (error instanceof RestoreError && restore) {
              // Nobody sees this: the snapshot is marked bad and this desktop boots cold.
              qemuLog.warn({ id, snapshot: restore.key, reason: error.message }, 'restore from the template snapshot failed; booting cold');
              await markSnapshotBad(restore, error.message);
              restore = undefined;
              await fs.promises.rm(paths.disk, { force: true });
              await ensureOverlayDisk(paths.disk, template.baseImage);
              continue;
            }
            if (error instanceof SpiceListenError && attempt < START_ATTEMPTS) {
              qemuLog.warn({ id, spicePort, attempt }, 'QEMU could not listen for SPICE; retrying with another port');
              continue;
            }
            throw error;
          }
        }
      } catch (error) {
        // Nothing half-made stays behind: a new desktop that did not start leaves no folder.
        // (launch has proven its QEMU gone before it throws; an existing disk is never touched.)
        if (newDesktop && !(error instanceof LivenessUnknownError) && !this.vms.has(id)) {
          await fs.promises.rm(paths.folder, { recursive: true, force: true }).catch(() => undefined);
          await fs.promises.rm(paths.sockets, { recursive: true, force: true }).catch(() => undefined);
        }
        throw explainNoSpace(error, paths.folder);
      }
    });
  }

  async waitReady(id: string, readiness: Readiness, timeoutMs: number): Promise<void> {
    const vm = await this.find(id);
    if (!vm) throw new Error(`desktop ${id} is not running`);
    const deadline = Date.now() + timeoutMs;
    const checkAlive = () => {
      // An unknown answer is not an exit: the wait goes on (and times out if it must).
      if (vm.gone || qemuLiveness(vm.record.pid, vm.paths.folder) === 'dead') {
        throw new Error(`desktop ${id} exited before it was ready${vm.exitReason ? ` (${vm.exitReason})` : ''}`);
      }
    };
    if (vm.record.restoredFrom) return this.waitCloneReady(vm, readiness, deadline, checkAlive);
    switch (readiness.kind) {
      case 'delay': {
        const readyAt = Math.min(Date.now() + readiness.seconds * 1000, deadline);
        while (Date.now() < readyAt) {
          checkAlive();
          await sleep(Math.min(200, readyAt - Date.now()));
        }
        checkAlive();
        if (readiness.seconds * 1000 > timeoutMs) throw new Error(`desktop ${id}: readiness delay is longer than the timeout`);
        return;
      }
      case 'guest-agent':
        return waitForGuestAgent(vm.paths.agentSocket, deadline, checkAlive);
      case 'serial-marker':
        return this.waitForSerialMarker(vm, readiness.marker, deadline, checkAlive);
    }
  }

  async setConsolePassword(id: string, password: string, validForSeconds: number): Promise<void> {
    if (!/^[\x21-\x7e]{1,59}$/.test(password)) {
      throw new Error('a SPICE password is 1 to 59 printable ASCII characters without spaces');
    }
    const seconds = Math.max(1, Math.ceil(validForSeconds));
    await this.withQmp(id, async (qmp) => {
      await qmp.execute('set_password', { protocol: 'spice', password, connected: 'keep' });
      await qmp.execute('expire_password', { protocol: 'spice', time: `+${seconds}` });
    });
  }

  async reset(id: string): Promise<void> {
    const vm = await this.find(id);
    if (!vm) throw new Error(`desktop ${id} is not running`);
    // The guest prints its ready marker again after the reset: waitReady looks from here on.
    const size = await fs.promises.stat(vm.paths.serialLog).then((s) => s.size, () => 0);
    vm.record.serialReadyOffset = size;
    delete vm.record.restoredFrom; // after a reset even a clone boots, so readiness is the template's rule
    await writeRecord(vm.paths, vm.record);
    await this.withQmp(id, (qmp) => qmp.execute('system_reset'));
  }

  async stop(id: string): Promise<void> {
    this.paths(id);
    return this.withLock(id, () => this.stopUnlocked(id));
  }

  async destroy(id: string): Promise<void> {
    const paths = this.paths(id);
    return this.withLock(id, async () => {
      await this.stopUnlocked(id);
      // The last proof before a disk goes: no process (a QEMU of any Floe) has it open.
      let holders: number[];
      try {
        holders = processesHoldingFile(paths.disk);
      } catch (error) {
        throw new LivenessUnknownError(`a process holding the disk of ${id}`, error);
      }
      if (holders.length > 0) {
        throw new Error(`the disk of desktop ${id} is still open in process ${holders.join(', ')}; not deleted`);
      }
      await fs.promises.rm(paths.folder, { recursive: true, force: true });
      await fs.promises.rm(paths.sockets, { recursive: true, force: true });
      qemuLog.info({ id }, 'destroyed desktop (disk and files removed)');
    });
  }

  async list(): Promise<VmInfo[]> {
    const desktops = `${this.dataDir}/desktops`;
    // No folder proves there are no VMs; any other failure to read it proves nothing.
    const ids = await fs.promises.readdir(desktops).catch((error: unknown) => {
      if (isNoSuchEntry(error)) return [] as string[];
      throw new LivenessUnknownError(`the VMs in ${desktops}`, error);
    });
    const found: VmInfo[] = [];
    for (const id of ids.sort()) {
      if (!ID_PATTERN.test(id)) continue;
      const vm = await this.find(id);
      if (vm && !vm.gone) found.push(toInfo(vm.record));
    }
    return found;
  }

  /**
   * Writes the guest's screen to `ppmPath` (PPM) with QMP screendump. QEMU (no longer root)
   * writes to a file Floe made for it in the runtime folder; Floe copies it to `ppmPath`.
   */
  async screendump(id: string, ppmPath: string): Promise<void> {
    const dump = this.privateQemuPath('screen', '.ppm');
    try {
      await fs.promises.writeFile(dump, '', { mode: 0o600, flag: 'wx' });
      await this.handToQemu(dump);
      await this.withQmp(id, (qmp) => qmp.execute('screendump', { filename: dump }));
      await fs.promises.copyFile(dump, ppmPath);
    } finally {
      await fs.promises.rm(dump, { force: true });
    }
  }

  /** Sends keys as QEMU key codes (qcodes, e.g. ['ctrl', 'alt', 'delete']) pressed together. */
  async sendKeys(id: string, qcodes: string[]): Promise<void> {
    await this.withQmp(id, (qmp) => qmp.execute('send-key', { keys: qcodes.map((data) => ({ type: 'qcode', data })) }));
  }

  /** Runs any QMP command on a desktop's QEMU (tests, diagnostics). */
  async qmpCommand<T = unknown>(id: string, command: string, args?: Record<string, unknown>): Promise<T> {
    return this.withQmp(id, (qmp) => qmp.execute<T>(command, args));
  }

  /** Stops every VM in the data folder (tests, shutdown of a throw-away setup). */
  async stopAll(): Promise<string[]> {
    const ids = new Set<string>([...this.vms.keys(), ...(await this.list()).map((vm) => vm.id)]);
    await Promise.all([...ids].map((id) => this.stop(id)));
    return [...ids];
  }

  /** Lets go of the VMs without stopping them: closes QMP connections and stops watching. */
  close(): void {
    for (const vm of this.vms.values()) {
      vm.stopping = true; // released, not stopped: nothing is reported from here on
      vm.gone = true; // a QMP connect still under way closes when it completes
      if (vm.pollTimer) clearInterval(vm.pollTimer);
      vm.child?.removeAllListeners('exit');
      vm.qmp?.removeAllListeners('close');
      vm.qmp?.close();
    }
    this.vms.clear();
  }

  // --- internals ---------------------------------------------------------------------------

  private paths(id: string): DesktopPaths {
    if (!ID_PATTERN.test(id)) throw new Error(`bad desktop id ${JSON.stringify(id)}: use lowercase letters, digits and dashes`);
    return desktopPaths(this.dataDir, id, this.runtimeDir);
  }

  /** The paths of a VM by its record: its sockets are where the Floe that started it put them. */
  private pathsOfRecord(id: string, record: VmRecord): DesktopPaths {
    const paths = this.paths(id);
    return {
      ...paths,
      qmpSocket: record.qmpSocket ?? `${paths.folder}/${DESKTOP_FILES.qmpSocket}`,
      agentSocket: record.agentSocket ?? `${paths.folder}/${DESKTOP_FILES.agentSocket}`,
    };
  }

  private withLock<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.queue.run(id, task);
  }

  /**
   * The running VM for `id`: known to this instance, or adopted from its folder; undefined
   * only on proof that none runs. A known VM whose pid cannot be checked is kept; a VM that
   * cannot be told to run or not is an error (LivenessUnknownError), never "not running".
   */
  private async find(id: string): Promise<RunningVm | undefined> {
    const known = this.vms.get(id);
    if (known && !known.gone) {
      const liveness = qemuLiveness(known.record.pid, known.paths.folder);
      if (liveness !== 'dead') return known;
      this.handleExit(known, `QEMU process ${known.record.pid} is gone`);
      return undefined;
    }
    const folderPaths = this.paths(id);
    const record = await readRecord(folderPaths);
    if (!record) return undefined;
    const paths = this.pathsOfRecord(id, record);
    const liveness = qemuLiveness(record.pid, paths.folder);
    if (liveness === 'unknown') throw new LivenessUnknownError(`the QEMU of desktop ${id} (pid ${record.pid})`);
    if (liveness === 'dead') {
      qemuLog.info({ id, pid: record.pid }, 'removing the records of a VM that is no longer running');
      await removeRuntimeFiles(paths);
      return undefined;
    }
    const again = this.vms.get(id);
    if (again && !again.gone) return again;
    const vm: RunningVm = { record, paths, stopping: false, gone: false };
    if (this.observeOnly) return vm;
    this.vms.set(id, vm);
    this.watch(vm);
    qemuLog.info({ id, pid: record.pid, spicePort: record.spicePort }, 'adopted a running VM');
    // Connect to QMP now so that a dying QEMU is noticed by its socket closing too.
    // A free QMP socket of a running QEMU greets at once; a second's silence means another Floe
    // replica on this machine drives the VM (then commands go to the peer socket; no harm if not).
    this.qmpFor(vm, 1000).catch((error: Error) => {
      if (isNoGreeting(error)) vm.qmpHeldElsewhere = true;
      qemuLog.debug({ id, err: error.message }, 'QMP not reachable yet');
    });
    return vm;
  }

  private async launch(
    id: string,
    paths: DesktopPaths,
    template: TemplateSpec,
    accelerator: 'kvm' | 'tcg',
    spicePort: number,
    restore?: TemplateSnapshotRef,
  ): Promise<VmInfo> {
    // A guest on the user-mode network starts only once this host is closed to it.
    if (template.network === 'nat') await ensureGuestFirewall(this.confinement.user?.uid);
    const args = [...buildQemuArgs({ id, paths, template, accelerator, spiceHost: this.spiceHost, spicePort }), ...confinementArgs(this.confinement)];
    // A clone reads the saved state from an inherited descriptor (QEMU opens and spawns nothing).
    if (restore) args.push('-incoming', 'fd:3');
    // QEMU would make the serial log with its umask's mode: made here, 0600, it keeps that mode.
    fs.closeSync(fs.openSync(paths.serialLog, 'a', 0o600));
    fs.chmodSync(paths.serialLog, 0o600);
    const logFd = fs.openSync(paths.qemuLog, 'w', 0o600);
    fs.fchmodSync(logFd, 0o600);
    let stateFd: number | undefined;
    let child: ChildProcess;
    try {
      if (restore) stateFd = fs.openSync(restore.stateFile, 'r');
      const stdio = stateFd === undefined ? ['ignore', logFd, logFd] : ['ignore', logFd, logFd, stateFd];
      // Own session and process group: QEMU outlives Floe, even a Floe killed with -9.
      // A bare environment: none of Floe's secrets reach QEMU (qemu-confinement.ts).
      child = spawn(QEMU_BINARY, args, { detached: true, stdio: stdio as ('ignore' | number)[], cwd: paths.folder, env: qemuEnvironment() });
    } finally {
      fs.closeSync(logFd);
      if (stateFd !== undefined) fs.closeSync(stateFd);
    }
    child.unref();
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`QEMU for ${id} did not start`);
    const startedAt = Date.now();
    const record: VmRecord = {
      id,
      pid,
      spiceHost: this.spiceHost,
      spicePort,
      accelerator,
      startedAt,
      qmpSocket: paths.qmpSocket,
      agentSocket: paths.agentSocket,
      ...(restore ? { restoredFrom: restore.key } : {}),
    };
    const vm: RunningVm = { record, paths, child, stopping: false, gone: false };
    child.once('exit', (code, signal) => this.handleExit(vm, describeExit(code, signal)));

    try {
      const qmp = await this.connectWhileStarting(vm);
      const spice = await qmp.execute<{ enabled?: boolean; port?: number }>('query-spice');
      if (!spice.enabled || spice.port !== spicePort) {
        throw new SpiceListenError(`SPICE is not listening on port ${spicePort}`);
      }
      if (restore) await finishRestore(qmp, vm);
      // Without its record a running QEMU could not be found again: a failed write (a full
      // disk) ends this start like any other failure, the QEMU killed, not left orphaned.
      await writeRecord(paths, record);
    } catch (error) {
      vm.stopping = true;
      if (!vm.gone && isProcessRunning(pid)) child.kill('SIGKILL');
      // Our own child: its exit event is proof too.
      const exited = vm.gone || (await waitForProcessExit(pid, 5000));
      if (!exited) throw new Error(`QEMU for ${id} failed to start and does not exit (pid ${pid}): ${(error as Error).message}`);
      this.handleExit(vm, 'failed to start');
      await removeRuntimeFiles(paths);
      const output = await fs.promises.readFile(paths.qemuLog, 'utf8').catch(() => '');
      const detail = output.trim().split('\n').slice(-5).join(' | ') || (error as Error).message;
      if (restore && (error instanceof RestoreError || /incoming|migration|load of|vmstate/i.test(output))) {
        throw new RestoreError(`QEMU for ${id} could not restore the template snapshot: ${detail}`);
      }
      if (error instanceof SpiceListenError || /spice|address already in use|bind|listen/i.test(output)) {
        throw new SpiceListenError(`QEMU for ${id} could not listen for SPICE on port ${spicePort}: ${detail}`);
      }
      throw new Error(`QEMU for ${id} did not start: ${detail}`);
    }

    this.vms.set(id, vm);
    this.watch(vm);
    qemuLog.info(
      { id, pid, spicePort, accelerator, memoryMiB: template.memoryMiB, restoredFrom: restore?.key, ms: Date.now() - startedAt },
      restore ? 'started VM from the template snapshot' : 'started VM',
    );
    return toInfo(record);
  }

  /** Waits for QEMU's QMP socket to answer, failing as soon as QEMU exits. */
  private async connectWhileStarting(vm: RunningVm): Promise<QmpClient> {
    const deadline = Date.now() + QMP_READY_TIMEOUT_MS;
    let lastError: Error | undefined;
    while (Date.now() < deadline) {
      if (vm.gone) throw new Error(`QEMU exited during start (${vm.exitReason ?? 'unknown'})`);
      if (fs.existsSync(vm.paths.qmpSocket)) {
        try {
          return await this.qmpFor(vm, 3000);
        } catch (error) {
          lastError = error as Error;
        }
      }
      await sleep(50);
    }
    throw new Error(`QMP did not answer within ${QMP_READY_TIMEOUT_MS} ms${lastError ? `: ${lastError.message}` : ''}`);
  }

  /**
   * Runs `use` with the VM's QMP: this process's own connection, or, when another process (a
   * Floe replica on this machine that drives the VM) holds the QMP socket, a connection of its
   * own to the peer socket for just this use.
   */
  private async withQmp<T>(id: string, use: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const vm = await this.find(id);
    if (!vm) throw new Error(`desktop ${id} is not running`);
    if (!vm.qmpHeldElsewhere) {
      let qmp: QmpClient;
      try {
        qmp = await this.qmpFor(vm);
      } catch (error) {
        if (!isNoGreeting(error)) throw error;
        vm.qmpHeldElsewhere = true;
        qemuLog.info({ id }, "another process holds the VM's QMP socket; using its peer socket");
        return this.withPeerQmp(vm, use);
      }
      return use(qmp);
    }
    return this.withPeerQmp(vm, use);
  }

  private async withPeerQmp<T>(vm: RunningVm, use: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const qmp = await QmpClient.connect(peerQmpSocketOf(vm.paths.qmpSocket), { timeoutMs: 5000 });
    try {
      return await use(qmp);
    } finally {
      qmp.close();
    }
  }

  /** The VM's QMP connection, opened on first use (QEMU serves one QMP client at a time). */
  private qmpFor(vm: RunningVm, timeoutMs = 5000): Promise<QmpClient> {
    if (vm.qmpHeldElsewhere) return Promise.reject(new Error(`QMP of desktop ${vm.record.id} is held by another process: no greeting`));
    if (vm.gone) return Promise.reject(new Error(`desktop ${vm.record.id} is not running`));
    if (vm.qmp && !vm.qmp.closed) return Promise.resolve(vm.qmp);
    vm.qmpConnecting ??= QmpClient.connect(vm.paths.qmpSocket, { timeoutMs })
      .then((qmp) => {
        if (vm.gone) {
          qmp.close();
          throw new Error(`desktop ${vm.record.id} is not running`);
        }
        vm.qmp = qmp;
        qmp.on('event', (event) => {
          if (event.event === 'SHUTDOWN') {
            const reason = event.data?.reason;
            vm.shutdownReason = typeof reason === 'string' ? reason : 'unknown';
          }
        });
        qmp.on('close', () => {
          if (vm.qmp === qmp) vm.qmp = undefined;
          this.checkSoon(vm);
        });
        return qmp;
      })
      .finally(() => {
        vm.qmpConnecting = undefined;
      });
    return vm.qmpConnecting;
  }

  /** Pid check every exitPollMs: catches a dead QEMU even without child or QMP connection. */
  private watch(vm: RunningVm): void {
    if (vm.pollTimer) return;
    vm.pollTimer = setInterval(() => this.checkLiveness(vm, `QEMU process ${vm.record.pid} is gone`), this.exitPollMs);
    vm.pollTimer.unref();
  }

  /** Reports the VM's exit on proof; an unknown answer is warned about once and asked again later. */
  private checkLiveness(vm: RunningVm, reason: string): void {
    if (vm.gone) return;
    const liveness = qemuLiveness(vm.record.pid, vm.paths.folder);
    if (liveness === 'dead') {
      this.handleExit(vm, reason);
    } else if (liveness === 'unknown') {
      if (!vm.livenessUnknown) qemuLog.warn({ id: vm.record.id, pid: vm.record.pid }, 'cannot tell whether the VM still runs; leaving it as it is');
      vm.livenessUnknown = true;
    } else if (vm.livenessUnknown) {
      vm.livenessUnknown = false;
      qemuLog.info({ id: vm.record.id, pid: vm.record.pid }, 'the VM can be checked again: it runs');
    }
  }

  /** After the QMP socket closed: QEMU is normally exiting; look closely for a few seconds. */
  private checkSoon(vm: RunningVm): void {
    const until = Date.now() + 3000;
    const check = () => {
      this.checkLiveness(vm, `QEMU process ${vm.record.pid} exited`);
      if (vm.gone) return;
      if (Date.now() < until) setTimeout(check, 100).unref();
    };
    check();
  }

  private handleExit(vm: RunningVm, processReason: string): void {
    if (vm.gone) return;
    vm.gone = true;
    if (vm.pollTimer) clearInterval(vm.pollTimer);
    vm.qmp?.close();
    const { id, pid } = vm.record;
    if (this.vms.get(id) === vm) this.vms.delete(id);
    const reason = explainExit(vm.shutdownReason, processReason);
    vm.exitReason = reason;
    if (vm.stopping) return;
    qemuLog.warn({ id, pid, reason }, 'VM exited unexpectedly');
    void readRecord(vm.paths)
      .then((record) => {
        if (record && record.pid === pid) return removeRuntimeFiles(vm.paths);
      })
      .catch((error: unknown) => qemuLog.warn({ id, err: (error as Error).message }, 'could not remove the records of an exited VM'));
    for (const listener of this.listeners) {
      try {
        listener(id, reason);
      } catch (error) {
        qemuLog.error({ id, err: (error as Error).message }, 'VM exit listener threw');
      }
    }
  }

  private async stopUnlocked(id: string): Promise<void> {
    const paths = this.paths(id);
    const vm = await this.find(id);
    if (!vm) {
      await removeRuntimeFiles(paths);
      return;
    }
    const { pid } = vm.record;
    if (qemuLiveness(pid, vm.paths.folder) === 'unknown') throw new LivenessUnknownError(`the QEMU of desktop ${id} (pid ${pid})`);
    vm.stopping = true;
    let asked = false;
    try {
      const qmp = await this.qmpFor(vm, 2000);
      await qmp.execute('quit').catch((error: Error) => {
        if (!(error instanceof QmpClosedError)) throw error;
      });
      asked = true;
    } catch (error) {
      qemuLog.warn({ id, err: (error as Error).message }, 'QMP quit failed; sending SIGTERM');
    }
    if (!asked && qemuLiveness(pid, vm.paths.folder) === 'alive') signalProcess(pid, 'SIGTERM');
    let exited = await waitForProcessExit(pid, this.stopGraceMs);
    if (!exited && qemuLiveness(pid, vm.paths.folder) === 'alive') {
      qemuLog.warn({ id, pid }, `QEMU still running ${this.stopGraceMs} ms after quit; killing it`);
      signalProcess(pid, 'SIGKILL');
      exited = await waitForProcessExit(pid, 5000);
    }
    if (!exited) throw new Error(`QEMU ${pid} of desktop ${id} does not exit (or cannot be checked); left as it is`);
    this.handleExit(vm, 'stopped by Floe');
    await removeRuntimeFiles(vm.paths);
    qemuLog.info({ id, pid }, 'stopped VM (disk kept)');
  }

  /**
   * A clone does not print its ready marker again: it is ready once it runs (the restore has
   * completed). Where the template runs a guest agent (`guest-agent` readiness, or a serial
   * marker with `agent`), the agent must answer, the guest's
   * clock, which jumped by the snapshot's age, is set, and the template's clone identity hook
   * (guest-agent.ts) is started with the desktop's id.
   */
  private async waitCloneReady(vm: RunningVm, readiness: Readiness, deadline: number, checkAlive: () => void): Promise<void> {
    checkAlive();
    const qmp = await this.qmpFor(vm);
    const status = await qmp.execute<{ status?: string }>('query-status');
    if (status.status !== 'running') throw new Error(`desktop ${vm.record.id}: the clone is ${status.status ?? 'not running'}`);
    if (readiness.kind === 'guest-agent' || (readiness.kind === 'serial-marker' && readiness.agent)) {
      await waitForGuestAgent(vm.paths.agentSocket, deadline, checkAlive);
      await setGuestTime(vm.paths.agentSocket).catch((error: Error) =>
        qemuLog.warn({ id: vm.record.id, err: error.message }, 'guest-set-time failed; the clock may lag'),
      );
      const hooked = await runCloneHook(vm.paths.agentSocket, vm.record.id);
      qemuLog.info({ id: vm.record.id, hook: CLONE_HOOK, ran: hooked }, hooked ? 'clone identity hook started' : 'the template has no clone identity hook');
    }
  }

  private async waitForSerialMarker(
    vm: RunningVm,
    marker: string,
    deadline: number,
    checkAlive: () => void,
  ): Promise<void> {
    const record = (await readRecord(vm.paths)) ?? vm.record;
    let position = record.serialReadyOffset ?? 0;
    let carry = '';
    const handle = await fs.promises.open(vm.paths.serialLog, 'r').catch(() => undefined);
    try {
      for (;;) {
        if (handle) {
          const { size } = await handle.stat();
          if (size < position) {
            position = 0; // the log was truncated (QEMU restarted)
            carry = '';
          }
          if (size > position) {
            const chunk = Buffer.alloc(size - position);
            const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
            position += bytesRead;
            const text = carry + chunk.subarray(0, bytesRead).toString('latin1');
            if (text.includes(marker)) return;
            carry = text.slice(-marker.length);
          }
        }
        checkAlive();
        if (Date.now() >= deadline) {
          throw new Error(`desktop ${vm.record.id}: no ready marker ${marker} on the serial port in time`);
        }
        if (!handle) return this.waitForSerialMarkerReopen(vm, marker, deadline, checkAlive);
        await sleep(150);
      }
    } finally {
      await handle?.close();
    }
  }

  /** serial.log did not exist yet: wait for it, then watch it. */
  private async waitForSerialMarkerReopen(
    vm: RunningVm,
    marker: string,
    deadline: number,
    checkAlive: () => void,
  ): Promise<void> {
    while (!fs.existsSync(vm.paths.serialLog)) {
      checkAlive();
      if (Date.now() >= deadline) throw new Error(`desktop ${vm.record.id}: no serial output in time`);
      await sleep(150);
    }
    return this.waitForSerialMarker(vm, marker, deadline, checkAlive);
  }
}

// --- helpers -----------------------------------------------------------------------------

function toInfo(record: VmRecord): VmInfo {
  const { id, pid, spiceHost, spicePort, accelerator, startedAt, restoredFrom } = record;
  return { id, pid, spiceHost, spicePort, accelerator, startedAt, ...(restoredFrom ? { restoredFrom } : {}) };
}

/** The incoming migration of a clone failed (incompatible or corrupt state). */
class RestoreError extends Error {}

/** Waits for a clone's incoming migration to complete, then lets the guest run. */
async function finishRestore(qmp: QmpClient, vm: RunningVm): Promise<void> {
  try {
    await waitForMigration((command, args) => qmp.execute(command, args), RESTORE_TIMEOUT_MS);
  } catch (error) {
    if (vm.gone) throw new RestoreError(`QEMU exited while restoring (${vm.exitReason ?? 'unknown'})`);
    throw new RestoreError((error as Error).message);
  }
  await qmp.execute('cont');
}

/** Sends a signal, ignoring a process that has just gone. */
function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `QEMU was killed by ${signal}` : `QEMU exited with code ${code ?? 'unknown'}`;
}

function explainExit(shutdownReason: string | undefined, processReason: string): string {
  switch (shutdownReason) {
    case undefined:
      return processReason;
    case 'guest-shutdown':
      return 'the guest powered off';
    case 'host-signal':
      return 'QEMU was told to terminate by a signal';
    case 'host-qmp-quit':
      return 'QEMU was told to quit over QMP';
    default:
      return `${processReason} (shutdown: ${shutdownReason})`;
  }
}

async function checkTemplateFiles(template: TemplateSpec): Promise<void> {
  const files: [string, string | undefined][] = [
    ['base image', template.baseImage],
    ['kernel', template.kernel],
    ['initrd', template.initrd],
  ];
  for (const [what, file] of files) {
    if (file === undefined) continue;
    await fs.promises.access(file, fs.constants.R_OK).catch(() => {
      throw new Error(`template ${what} ${file} is missing (build the demo guest with: bash guest/build.sh)`);
    });
  }
}

/** Creates the desktop's copy-on-write disk on top of the base image, unless it exists. */
async function ensureOverlayDisk(disk: string, baseImage: string): Promise<void> {
  if (fs.existsSync(disk)) return;
  const partial = `${disk}.partial`;
  try {
    await execFileAsync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', baseImage, partial], { env: qemuEnvironment() });
    await fs.promises.chmod(partial, 0o600); // a person's files: root's only (QEMU opens it before it drops root)
    await fs.promises.rename(partial, disk);
  } catch (error) {
    await fs.promises.rm(partial, { force: true }).catch(() => undefined);
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw Object.assign(new Error(`could not create the disk ${disk}: ${stderr || (error as Error).message}`), {
      code: (error as NodeJS.ErrnoException).code,
    });
  }
  qemuLog.info({ disk, baseImage }, 'created overlay disk');
}

/** A "no space left" failure, said in words that name the full disk. */
function explainNoSpace(error: unknown, folder: string): unknown {
  const message = (error as Error)?.message ?? '';
  if ((error as NodeJS.ErrnoException)?.code !== 'ENOSPC' && !/no space left on device/i.test(message)) return error;
  return new Error(`the data disk is full (no space left on the disk holding ${folder}); free space there and try again`);
}

/** The VM's record; undefined when there is none (or it is not one); throws when it could not be read. */
async function readRecord(paths: DesktopPaths): Promise<VmRecord | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(paths.vmRecord, 'utf8');
  } catch (error) {
    if (isNoSuchEntry(error)) return undefined;
    throw new LivenessUnknownError(`the VM of ${paths.folder} (its record: ${(error as Error).message})`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<VmRecord>;
    if (
      typeof parsed.id !== 'string' ||
      typeof parsed.pid !== 'number' ||
      typeof parsed.spicePort !== 'number' ||
      typeof parsed.spiceHost !== 'string' ||
      (parsed.accelerator !== 'kvm' && parsed.accelerator !== 'tcg') ||
      typeof parsed.startedAt !== 'number'
    ) {
      return undefined;
    }
    return parsed as VmRecord;
  } catch {
    return undefined;
  }
}

async function writeRecord(paths: DesktopPaths, record: VmRecord): Promise<void> {
  const partial = `${paths.vmRecord}.partial`;
  await fs.promises.writeFile(partial, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await fs.promises.rename(partial, paths.vmRecord);
}

async function removeRuntimeFiles(paths: DesktopPaths): Promise<void> {
  await Promise.all(
    [paths.vmRecord, paths.qmpSocket, paths.agentSocket, paths.pidFile].map((file) => fs.promises.rm(file, { force: true })),
  );
}
