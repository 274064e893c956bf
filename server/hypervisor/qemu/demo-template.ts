/**
 * The demo guest that `guest/build.sh` builds into IMAGE_DIR/demo: a Debian kernel booted
 * directly with a busybox initramfs, a shell on the VGA console, the desktop's disk at /home,
 * and a ready line on the serial port. This file is what the TypeScript side knows of it.
 */
import path from 'node:path';
import type { TemplateSpec } from '../types';

/** The line the demo guest prints on its serial port once its shell on tty1 is up. */
export const DEMO_READY_MARKER = 'FLOE-GUEST-READY';

/** Kernel arguments: serial console last so that boot messages go there, the VGA screen stays clean. */
export const DEMO_KERNEL_ARGS = 'console=tty0 console=ttyS0 quiet loglevel=3';

export function demoImagePaths(imageDir: string): { kernel: string; initrd: string; baseImage: string; stamp: string } {
  const folder = path.join(imageDir, 'demo');
  return {
    kernel: path.join(folder, 'vmlinuz'),
    initrd: path.join(folder, 'initrd.img'),
    baseImage: path.join(folder, 'base.qcow2'),
    stamp: path.join(folder, 'stamp'),
  };
}

export function demoTemplate(imageDir: string): TemplateSpec {
  const { kernel, initrd, baseImage } = demoImagePaths(imageDir);
  return {
    baseImage,
    kernel,
    initrd,
    kernelArgs: DEMO_KERNEL_ARGS,
    memoryMiB: 256,
    vcpus: 1,
    readiness: { kind: 'serial-marker', marker: DEMO_READY_MARKER },
  };
}
