/**
 * Picks the hypervisor driver from the settings: the embedded QEMU driver (default; with its
 * template snapshots for instant desktops) or, with FLOE_HYPERVISOR=libvirt, the libvirt driver
 * over the hosts of FLOE_HOSTS_FILE (no instant clones there). The runtime asks here and
 * holds the result by interface.
 */
import path from 'node:path';
import type { FloeConfig } from '../config';
import { loadHostsFile } from './libvirt/hosts';
import { LibvirtHypervisor } from './libvirt/libvirt-hypervisor';
import { demoTemplate } from './qemu/demo-template';
import { defaultRuntimeDir } from './qemu/qemu-command';
import { resolveConfinement } from './qemu/qemu-confinement';
import { QemuHypervisor } from './qemu/qemu-hypervisor';
import { TemplateSnapshots } from './qemu/template-snapshot';
import type { Hypervisor, SnapshotSource } from './types';

export interface SelectedHypervisor {
  hypervisor: Hypervisor;
  /** Template snapshots, where the driver has instant clones. */
  snapshots: SnapshotSource | undefined;
  /** The libvirt driver, for the hosts page and API (absent with the QEMU driver). */
  libvirt: LibvirtHypervisor | undefined;
}

export function selectHypervisor(config: FloeConfig, options: { bootTimeoutMs?: number } = {}): SelectedHypervisor {
  if (config.hypervisor === 'libvirt') {
    if (!config.hostsFile) throw new Error('FLOE_HYPERVISOR=libvirt needs FLOE_HOSTS_FILE');
    const libvirt = new LibvirtHypervisor({ hosts: loadHostsFile(config.hostsFile), owner: config.libvirtOwner });
    libvirt.startPolling();
    return { hypervisor: libvirt, snapshots: undefined, libvirt };
  }
  const demo = demoTemplate(config.imageDir);
  const qemu = new QemuHypervisor({
    dataDir: path.join(config.dataDir, 'vms'),
    runtimeDir: defaultRuntimeDir(path.join(config.dataDir, 'vms'), config.runtimeRoot),
    confinement: resolveConfinement(config.qemuUser),
    accelerator: config.accelerator,
    probeKernel: demo.kernel && demo.initrd ? { kernel: demo.kernel, initrd: demo.initrd } : undefined,
  });
  const snapshots = new TemplateSnapshots({ host: qemu, root: path.join(config.imageDir, 'snapshots'), bootTimeoutMs: options.bootTimeoutMs });
  return { hypervisor: qemu, snapshots, libvirt: undefined };
}
