/**
 * The accelerator verdict, remembered per host so that `auto` pays for its probe guest once,
 * not at every start of Floe. The verdict is keyed by what decides it: the kernel release, the
 * QEMU version, the KVM device and the kvm modules loaded. A remembered verdict is used at once
 * and checked again in the background; the file is rewritten when the answer changes.
 *
 * Some kernels' KVM is PVM (`/sys/module/kvm_pvm`): /dev/kvm opens and QEMU starts, but guests
 * hang. That is known without a probe guest, so it is answered at once.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Accelerator } from '../types';
import { qemuVersionLine } from './template-snapshot';

export interface RememberedVerdict {
  hostKey: string;
  accelerator: Accelerator;
  reason: string;
  checkedAt: number;
}

/** The kvm modules the kernel has loaded (kvm, kvm_intel, kvm_amd, kvm_pvm...). */
export function kvmModules(moduleDir = '/sys/module'): string[] {
  try {
    return fs.readdirSync(moduleDir).filter((name) => name === 'kvm' || name.startsWith('kvm_')).sort();
  } catch {
    return [];
  }
}

/** A reason to use TCG that needs no probe guest, or undefined. */
export function knownBrokenKvm(modules = kvmModules()): string | undefined {
  if (modules.includes('kvm_pvm')) {
    return 'KVM on this host is PVM (/sys/module/kvm_pvm): guests hang under it';
  }
  return undefined;
}

/** What the verdict depends on, hashed. */
export async function hostKey(kvmDevice: string): Promise<string> {
  const device = await fs.promises.stat(kvmDevice).then((s) => `${s.rdev}`, () => 'none');
  const inputs = { kernel: os.release(), qemu: await qemuVersionLine(), device: `${kvmDevice}:${device}`, modules: kvmModules() };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 24);
}

export async function readVerdict(file: string, key: string): Promise<RememberedVerdict | undefined> {
  try {
    const verdict = JSON.parse(await fs.promises.readFile(file, 'utf8')) as RememberedVerdict;
    if (verdict.hostKey !== key || (verdict.accelerator !== 'kvm' && verdict.accelerator !== 'tcg')) return undefined;
    return verdict;
  } catch {
    return undefined;
  }
}

export async function writeVerdict(file: string, verdict: RememberedVerdict): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  await fs.promises.writeFile(partial, `${JSON.stringify(verdict, null, 2)}\n`);
  await fs.promises.rename(partial, file);
}
