/**
 * The hosts the libvirt driver runs desktops on: defined in JSON (FLOE_HOSTS_FILE) or through
 * the admin API, validated with zod like the pool file, and the placement rule.
 *
 * ```json
 * { "hosts": [
 *   { "name": "kvm1", "uri": "qemu+ssh://floe@kvm1.example.org/system",
 *     "spiceListen": "10.0.0.11", "maxDesktops": 40 },
 *   { "name": "kvm2", "uri": "qemu+tls://kvm2.example.org/system", "spiceListen": "10.0.0.12" } ] }
 * ```
 * - `pool`: the libvirt storage pool holding template volumes and desktop disks (default `floe`).
 * - `spiceListen`: the address QEMU's SPICE listens on, the one Floe's relay connects to
 *   (default 127.0.0.1, right only for a host on Floe's own machine).
 * - `accelerator`: `kvm` (default) or `tcg` (libvirt domain type `qemu`, software emulation).
 *
 * Placement: among the hosts that are up, have every volume of the template in their pool and
 * are below their `maxDesktops`, the one with the most free memory (ties: fewest desktops,
 * then name). A host that has no room or lacks the template is never chosen.
 */
import fs from 'node:fs';
import { z } from 'zod';
import type { Words } from '../../words';

export const HOST_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30})$/;

export const HostDefinitionSchema = z
  .object({
    name: z.string().regex(HOST_NAME_PATTERN, 'use 1-31 lowercase letters, digits and dashes'),
    uri: z
      .string()
      .regex(/^[a-z0-9+]+:\/\/[^\s]*\/(system|session)(\?[^\s]*)?$/, 'a libvirt URI such as qemu+ssh://host/system or qemu:///system'),
    pool: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('floe'),
    spiceListen: z.string().min(1).default('127.0.0.1'),
    accelerator: z.enum(['kvm', 'tcg']).default('kvm'),
    maxDesktops: z.number().int().positive().max(10_000).optional(),
  })
  .strict();

export type HostDefinition = z.infer<typeof HostDefinitionSchema>;
export type HostDefinitionInput = z.input<typeof HostDefinitionSchema>;

const HostFileSchema = z
  .object({ hosts: z.array(HostDefinitionSchema).min(1, 'the file must define at least one host') })
  .strict()
  .superRefine((file, ctx) => {
    const names = new Set<string>();
    const uris = new Set<string>();
    file.hosts.forEach((host, i) => {
      if (names.has(host.name)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `"${host.name}" is defined twice` });
      if (uris.has(host.uri)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'uri'], message: `${host.uri} is defined twice` });
      names.add(host.name);
      uris.add(host.uri);
    });
  });

export class HostFileError extends Error {
  constructor(where: string, problems: string) {
    super(`${where} is not valid: ${problems}`);
    this.name = 'HostFileError';
  }
}

function problemsOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ');
}

/** Validates a list of hosts (the file's `hosts`, or the admin API's body); throws HostFileError. */
export function parseHosts(raw: unknown, where = 'the hosts'): HostDefinition[] {
  const parsed = HostFileSchema.safeParse(raw);
  if (!parsed.success) throw new HostFileError(where, problemsOf(parsed.error));
  return parsed.data.hosts;
}

/** Validates one host (admin API). */
export function parseHost(raw: unknown): HostDefinition {
  const parsed = HostDefinitionSchema.safeParse(raw);
  if (!parsed.success) throw new HostFileError('the host', problemsOf(parsed.error));
  return parsed.data;
}

/** Reads and validates a hosts file; throws HostFileError naming each bad field. */
export function loadHostsFile(file: string): HostDefinition[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HostFileError(`Hosts file ${file}`, error instanceof Error ? error.message : String(error));
  }
  return parseHosts(raw, `Hosts file ${file}`);
}

/** Writes the hosts file atomically (admin API changes survive a restart). */
export function saveHostsFile(file: string, hosts: HostDefinition[]): void {
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, `${JSON.stringify({ hosts }, null, 2)}\n`);
  fs.renameSync(partial, file);
}

/** What placement needs to know of a host right now. */
export interface PlacementCandidate {
  name: string;
  up: boolean;
  hasTemplate: boolean;
  freeMemoryBytes: number;
  desktops: number;
  maxDesktops?: number;
}

export class NoHostError extends Error {
  readonly status = 503;
  readonly words: Words = { code: 'noHost' };
  constructor(reasons: string[]) {
    super(`no host can take this desktop now${reasons.length ? ` (${reasons.join('; ')})` : ' (no hosts are configured)'}`);
    this.name = 'NoHostError';
  }
}

/** The host with the most free memory that is up, has the template and has room; throws NoHostError. */
export function chooseHost(candidates: PlacementCandidate[]): string {
  const reasons: string[] = [];
  const eligible = candidates.filter((host) => {
    if (!host.up) reasons.push(`${host.name} is down`);
    else if (!host.hasTemplate) reasons.push(`${host.name} lacks the template`);
    else if (host.maxDesktops !== undefined && host.desktops >= host.maxDesktops) reasons.push(`${host.name} is full`);
    else return true;
    return false;
  });
  const [best] = eligible.sort(
    (a, b) => b.freeMemoryBytes - a.freeMemoryBytes || a.desktops - b.desktops || a.name.localeCompare(b.name),
  );
  if (!best) throw new NoHostError(reasons);
  return best.name;
}
