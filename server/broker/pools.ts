/**
 * Pool definitions: a template plus sizing and policy. Validated with zod so a bad pool file or
 * admin request is refused with a message naming the field. The demo pool uses the bundled demo
 * guest (built by guest/build.sh into the image folder).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BrokerError } from './errors';
import { demoTemplate } from '../hypervisor/qemu/demo-template';
import { desktopTemplate } from '../hypervisor/qemu/desktop-template';
import type { TemplateSpec } from '../hypervisor/types';

const ReadinessSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('serial-marker'), marker: z.string().min(1).max(200), agent: z.boolean().optional() }),
  z.object({ kind: z.literal('guest-agent') }),
  z.object({ kind: z.literal('delay'), seconds: z.number().int().min(0).max(600) }),
]);

const DiskTemplateSchema = z.object({
  baseImage: z.string().min(1),
  kernel: z.string().min(1).optional(),
  initrd: z.string().min(1).optional(),
  kernelArgs: z.string().max(1000).optional(),
  readiness: ReadinessSchema.default({ kind: 'delay', seconds: 30 }),
});

export const PoolDefinitionSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'use 1-40 lowercase letters, digits and dashes'),
  title: z.string().min(1).max(80),
  kind: z.enum(['persistent', 'stateless']),
  template: z.union([z.literal('demo'), z.literal('desktop'), DiskTemplateSchema]),
  memoryMiB: z.number().int().min(64).max(262144).default(256),
  vcpus: z.number().int().min(1).max(64).default(1),
  spares: z.number().int().min(0).max(1000).default(0),
  maxSize: z.number().int().min(1).max(10000).default(10),
  maxPerUser: z.number().int().min(1).max(100).default(1),
  /** After the last console closes, how long to wait before the idle policy applies (fractions allowed). */
  graceMinutes: z.number().min(0).max(10080).default(15),
  /**
   * A console with no keyboard, mouse or touch input for this long is disconnected, after a
   * countdown the person can stop with "Stay connected" (0: never; fractions allowed).
   */
  idleMinutes: z.number().min(0).max(1440).default(0),
  onIdle: z.enum(['keep', 'shutdown']).default('keep'),
  /** A draining pool gives no desktops to people who have none there and boots no spares. */
  draining: z.boolean().default(false),
  /**
   * Instant desktops: new desktops start as clones of the template's saved state (a booted
   * template VM, paused and saved once) instead of booting. Every template here supports it.
   */
  instant: z.boolean().default(true),
  /**
   * The desktops' network: `none` (no network card) or `nat` (outbound through QEMU's user-mode
   * network; nothing on the Floe host is reachable from the guest, see server/host/guest-firewall.ts).
   */
  network: z.enum(['none', 'nat']).default('none'),
});

export type PoolDefinition = z.infer<typeof PoolDefinitionSchema>;

/**
 * The pools of the embedded demo: a persistent desktop each person keeps (files in /home stay),
 * and fresh stateless desktops with one spare kept booted so opening one is instant.
 */
export const demoPools: PoolDefinition[] = [
  PoolDefinitionSchema.parse({
    name: 'demo',
    title: 'Demo desktop',
    kind: 'persistent',
    template: 'demo',
    memoryMiB: 256,
    vcpus: 1,
    spares: 0,
    maxSize: 8,
    onIdle: 'keep',
  }),
  PoolDefinitionSchema.parse({
    name: 'demo-fresh',
    title: 'Fresh desktop',
    kind: 'stateless',
    template: 'demo',
    memoryMiB: 256,
    vcpus: 1,
    spares: 1,
    maxSize: 8,
    graceMinutes: 5,
  }),
];

/**
 * The demo's graphical pool (Xfce, see guest/build-desktop.sh): fresh desktops, instant clones
 * of the booted template (a cold boot takes 1-2 minutes under TCG), with an outbound network
 * (`nat`) that cannot reach this host. Added once the image is built.
 */
export const desktopDemoPool: PoolDefinition = PoolDefinitionSchema.parse({
  name: 'desktop',
  title: 'Desktop',
  kind: 'stateless',
  template: 'desktop',
  memoryMiB: 2048,
  vcpus: 2,
  spares: 0,
  maxSize: 4,
  graceMinutes: 5,
  network: 'nat',
});

/** Turns a pool's template into the hypervisor's terms. */
export function templateOf(pool: PoolDefinition, imageDir: string): TemplateSpec {
  const t = pool.template;
  const sized = { memoryMiB: pool.memoryMiB, vcpus: pool.vcpus, ...(pool.network === 'nat' ? { network: 'nat' as const } : {}) };
  if (t === 'demo') return { ...demoTemplate(imageDir), ...sized };
  if (t === 'desktop') return { ...desktopTemplate(imageDir), ...sized };
  return { ...t, ...sized };
}

/**
 * Resolves a template's files (base image, kernel, initrd) for a pool saved at run time (the
 * admin's form): relative paths are taken from the image folder, and every file must exist
 * inside it (symbolic links followed), so a pool cannot be backed by any other file Floe can
 * read, such as another person's disk. Throws a 400 naming the field. Returns the template with
 * absolute paths.
 */
export function confineTemplate(template: PoolDefinition['template'], imageDir: string): PoolDefinition['template'] {
  if (template === 'demo' || template === 'desktop') return template;
  const root = fs.realpathSync(imageDir);
  const confined = { ...template };
  for (const field of ['baseImage', 'kernel', 'initrd'] as const) {
    const given = template[field];
    if (given === undefined) continue;
    let real: string;
    try {
      real = fs.realpathSync(path.resolve(root, given));
    } catch {
      throw new BrokerError(`template.${field}: there is no file "${given}" in the image folder.`, 400, { code: 'templateFileMissing', params: { field, file: given } });
    }
    if (!real.startsWith(root + path.sep) || !fs.statSync(real).isFile()) {
      throw new BrokerError(`template.${field}: "${given}" must be a file inside the image folder (${root}).`, 400, {
        code: 'templateFileOutside',
        params: { field, file: given },
      });
    }
    confined[field] = real;
  }
  return confined;
}
