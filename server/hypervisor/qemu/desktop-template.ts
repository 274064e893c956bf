/**
 * The graphical "desktop" template that `guest/build-desktop.sh` builds into IMAGE_DIR/desktop:
 * Debian 12 with Xfce, auto-login, spice-vdagent, qemu-guest-agent and PulseAudio, booted with
 * its own kernel and initrd from its ext4 disk. It writes FLOE-DESKTOP-READY on the serial port
 * once the session's panel and desktop windows are mapped; the snapshot is saved once the screen
 * then holds still (xfdesktop paints its background a few seconds after it maps). Under TCG a
 * cold boot takes about 45-100 s, so its pools use instant clones.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TemplateSpec } from '../types';

/** The line the desktop guest writes on ttyS0 once Xfce's panel and desktop are mapped. */
export const DESKTOP_READY_MARKER = 'FLOE-DESKTOP-READY';

/** Root on the virtio disk; kernel messages on the serial port; the VGA screen stays clean. */
export const DESKTOP_KERNEL_ARGS = 'root=/dev/vda rw console=ttyS0 quiet loglevel=3';

/** TCG's translation cache for this guest: 256 MiB cut its memory from 1.85 to 1.02 GiB (PSS) at the same boot time. */
export const DESKTOP_TB_SIZE_MIB = 256;

export function desktopImagePaths(imageDir: string): { kernel: string; initrd: string; baseImage: string; stamp: string } {
  const folder = path.join(imageDir, 'desktop');
  return {
    kernel: path.join(folder, 'vmlinuz'),
    initrd: path.join(folder, 'initrd.img'),
    baseImage: path.join(folder, 'base.qcow2'),
    stamp: path.join(folder, 'stamp'),
  };
}

/** True once guest/build-desktop.sh has finished (its stamp is written last). */
export function desktopImageBuilt(imageDir: string): boolean {
  return fs.existsSync(desktopImagePaths(imageDir).stamp);
}

export function desktopTemplate(imageDir: string): TemplateSpec {
  const { kernel, initrd, baseImage } = desktopImagePaths(imageDir);
  return {
    baseImage,
    kernel,
    initrd,
    kernelArgs: DESKTOP_KERNEL_ARGS,
    memoryMiB: 2048,
    vcpus: 2,
    readiness: { kind: 'serial-marker', marker: DESKTOP_READY_MARKER, agent: true },
    tbSizeMiB: DESKTOP_TB_SIZE_MIB,
    devices: { sound: true, rng: true, balloon: true },
    steadyScreen: true,
  };
}
