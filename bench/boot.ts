/**
 * Boot to ready: the demo guest under real QEMU, from start to its ready marker (seconds, and
 * the accelerator QEMU ended up with).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, repoRoot } from '../server/config';
import { demoTemplate } from '../server/hypervisor/qemu/demo-template';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { report } from './figures';

export async function bootBench(): Promise<void> {
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
    report('boot', `QEMU running (${vm.accelerator})`, (running - t0) / 1000, 's');
    report('boot', `guest ready (${vm.accelerator})`, (ready - t0) / 1000, 's');
  } finally {
    await hypervisor.stopAll();
    hypervisor.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
