/**
 * Chooses between KVM and software emulation (TCG). `auto` does not trust /dev/kvm alone: on
 * some machines the device exists and `-accel kvm` starts, yet guests hang in early boot. So
 * `auto` opens /dev/kvm read-write and then boots the probe guest (the demo kernel and initrd)
 * under KVM for a few seconds, looking for its ready marker on the serial port. Only a guest
 * that got there means KVM. The answer for `auto` is computed once per process and, given a
 * `verdictFile`, remembered per host (accelerator-memory.ts): later starts use it at once and
 * check again in the background. A KVM known not to run guests (PVM) needs no probe at all.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Accelerator, AcceleratorChoice } from '../types';
import { hostKey, knownBrokenKvm, readVerdict, writeVerdict } from './accelerator-memory';
import { QEMU_BINARY, escapeOptionValue } from './qemu-command';

export interface ProbeGuest {
  kernel: string;
  initrd: string;
  /** Line the guest prints on its serial port when it has booted. */
  marker?: string;
}

export interface AcceleratorDecision {
  accelerator: Accelerator;
  reason: string;
}

export interface ResolveOptions {
  /** How long the probe guest may take under KVM (default 20 s). */
  probeTimeoutMs?: number;
  /** The KVM device (default /dev/kvm); tests point it elsewhere. */
  kvmDevice?: string;
  /** Where the verdict is remembered per host; without it every process probes. */
  verdictFile?: string;
  /** The kvm modules loaded (default: read from /sys/module); tests pass their own. */
  kvmModules?: string[];
}

const DEFAULT_MARKER = 'FLOE-GUEST-READY';
let cachedAuto: Promise<AcceleratorDecision> | undefined;

/** `kvm` and `tcg` are taken as given; `auto` is probed once per process (see above). */
export function resolveAccelerator(
  choice: AcceleratorChoice,
  probe?: ProbeGuest,
  options: ResolveOptions = {},
): Promise<AcceleratorDecision> {
  if (choice === 'kvm' || choice === 'tcg') {
    return Promise.resolve({ accelerator: choice, reason: `${choice} chosen by configuration` });
  }
  cachedAuto ??= options.verdictFile ? rememberedAuto(probe, options, options.verdictFile) : probeAuto(probe, options);
  return cachedAuto;
}

/** The remembered verdict if this host's has one (checked again in the background), else a probe that is remembered. */
async function rememberedAuto(probe: ProbeGuest | undefined, options: ResolveOptions, file: string): Promise<AcceleratorDecision> {
  const key = await hostKey(options.kvmDevice ?? '/dev/kvm');
  const probeAndRemember = async () => {
    const decision = await probeAuto(probe, options);
    await writeVerdict(file, { hostKey: key, ...decision, checkedAt: Date.now() });
    return decision;
  };
  const remembered = await readVerdict(file, key);
  if (!remembered) return probeAndRemember();
  // Checked again in the background; the next start uses the new answer if it changed.
  void probeAndRemember().catch(() => undefined);
  const when = new Date(remembered.checkedAt).toISOString();
  return { accelerator: remembered.accelerator, reason: `${remembered.reason} (remembered from ${when})` };
}

/** Forgets the cached `auto` answer (tests). */
export function forgetAcceleratorProbe(): void {
  cachedAuto = undefined;
}

async function probeAuto(probe: ProbeGuest | undefined, options: ResolveOptions): Promise<AcceleratorDecision> {
  const device = options.kvmDevice ?? '/dev/kvm';
  try {
    const handle = await fs.promises.open(device, 'r+');
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { accelerator: 'tcg', reason: `no ${device}` };
    return { accelerator: 'tcg', reason: `cannot open ${device} read-write (${code ?? String(error)})` };
  }
  const broken = knownBrokenKvm(options.kvmModules);
  if (broken) return { accelerator: 'tcg', reason: broken };
  if (!probe) {
    return { accelerator: 'tcg', reason: `${device} opens but there is no probe guest to check that KVM runs guests` };
  }
  const timeoutMs = options.probeTimeoutMs ?? 20_000;
  const result = await probeGuestBoots('kvm', probe, timeoutMs);
  if (result.booted) {
    return { accelerator: 'kvm', reason: `the probe guest booted under KVM in ${result.elapsedMs} ms` };
  }
  return { accelerator: 'tcg', reason: `KVM did not boot the probe guest: ${result.problem}` };
}

export interface ProbeResult {
  booted: boolean;
  elapsedMs: number;
  /** Why it did not boot (timeout, QEMU error output). */
  problem?: string;
}

/**
 * Boots the probe guest without disk or display in a temporary folder and waits for its
 * marker on the serial port. Always kills the QEMU it started and removes the folder.
 */
export async function probeGuestBoots(accelerator: Accelerator, probe: ProbeGuest, timeoutMs: number): Promise<ProbeResult> {
  const marker = probe.marker ?? DEFAULT_MARKER;
  const folder = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'floe-accel-probe-'));
  const serialLog = path.join(folder, 'serial.log');
  const started = Date.now();
  const args = [
    '-name',
    'floe-accel-probe',
    '-machine',
    'q35',
    '-accel',
    accelerator,
    ...(accelerator === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    '128',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-kernel',
    probe.kernel,
    '-initrd',
    probe.initrd,
    '-append',
    'console=ttyS0 quiet loglevel=3 floe.nodisk',
    '-chardev',
    `file,id=serial0,path=${escapeOptionValue(serialLog)}`,
    '-serial',
    'chardev:serial0',
  ];
  const child = spawn(QEMU_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 4000) stderr += chunk;
  });
  let exited = false;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error;
      exited = true;
      resolve();
    });
  });
  try {
    while (Date.now() - started < timeoutMs) {
      const serial = await fs.promises.readFile(serialLog, 'utf8').catch(() => '');
      if (serial.includes(marker)) return { booted: true, elapsedMs: Date.now() - started };
      if (exited) {
        const detail = spawnError?.message ?? (stderr.trim() || 'no error output');
        return { booted: false, elapsedMs: Date.now() - started, problem: `QEMU exited early: ${detail}` };
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return { booted: false, elapsedMs: Date.now() - started, problem: `no ready marker within ${timeoutMs} ms` };
  } finally {
    if (!exited) child.kill('SIGKILL');
    await exitPromise;
    await fs.promises.rm(folder, { recursive: true, force: true });
  }
}
