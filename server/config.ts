/**
 * Floe's settings, read once from the environment and validated with zod so that a bad value
 * stops start-up with a message naming the variable. Defaults give the embedded setup: data in
 * `.data/` beside the checkout, the demo guest image in `.data/images/`, port 3000 on loopback.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const EnvSchema = z.object({
  FLOE_DATA_DIR: z.string().min(1).default(path.join(repoRoot, '.data')),
  FLOE_IMAGE_DIR: z.string().min(1).default(path.join(repoRoot, '.data', 'images')),
  FLOE_RUNTIME_DIR: z.string().startsWith('/', 'must be an absolute path').optional(),
  FLOE_QEMU_USER: z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a user name').default('floe-qemu'),
  FLOE_HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  FLOE_ACCEL: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  DATABASE_URL: z.string().optional(),
  FLOE_POOLS_FILE: z.string().optional(),
  FLOE_HYPERVISOR: z.enum(['qemu', 'libvirt']).default('qemu'),
  FLOE_HOSTS_FILE: z.string().optional(),
  FLOE_LIBVIRT_OWNER: z.string().regex(/^[a-z0-9-]{1,20}$/, 'use 1-20 lowercase letters, digits and dashes').default('floe'),
  FLOE_SPICE_PROXY_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  FLOE_SPICE_PROXY_HOST: z.string().min(1).optional(),
  FLOE_REPLICA_ID: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, 'must be 1-40 letters, digits, dots, dashes or underscores').optional(),
  FLOE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type FloeConfig = {
  dataDir: string;
  imageDir: string;
  /** Root of the short folder for QEMU's sockets (FLOE_RUNTIME_DIR; see defaultRuntimeDir). */
  runtimeRoot: string | undefined;
  /** The unprivileged user QEMU runs as when Floe is root (see qemu-confinement.ts). */
  qemuUser: string;
  host: string;
  port: number;
  accelerator: 'auto' | 'kvm' | 'tcg';
  databaseUrl: string | undefined;
  /** JSON pool file (see server/broker/pool-file.ts); the demo pools when unset. */
  poolsFile: string | undefined;
  /** Which driver runs desktops: the embedded QEMU driver (default) or libvirt hosts (FLOE_HYPERVISOR). */
  hypervisor: 'qemu' | 'libvirt';
  /** JSON hosts file for the libvirt driver (FLOE_HOSTS_FILE; see server/hypervisor/libvirt/hosts.ts). */
  hostsFile: string | undefined;
  /** Names this installation's libvirt domains (`<owner>-<id>`); replicas of one Floe share it (FLOE_LIBVIRT_OWNER). */
  libvirtOwner: string;
  /** Port of the CONNECT proxy for remote-viewer (0 picks one); off when undefined. */
  spiceProxyPort: number | undefined;
  /** Host name remote-viewer uses to reach the proxy (default: `host`). */
  spiceProxyHost: string;
  logLevel: string;
  /**
   * This portal replica's name among those sharing one database (FLOE_REPLICA_ID, default the
   * machine's host name): the consoles it relays carry it, and its start ends only those.
   */
  replicaId: string;
};

/** Reads and validates the environment; throws an Error naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FloeConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Bad environment: ${problems}`);
  }
  const e = parsed.data;
  if (e.FLOE_HYPERVISOR === 'libvirt' && !e.FLOE_HOSTS_FILE) throw new Error('Bad environment: FLOE_HOSTS_FILE: required with FLOE_HYPERVISOR=libvirt');
  return {
    dataDir: path.resolve(e.FLOE_DATA_DIR),
    imageDir: path.resolve(e.FLOE_IMAGE_DIR),
    runtimeRoot: e.FLOE_RUNTIME_DIR || undefined,
    qemuUser: e.FLOE_QEMU_USER,
    host: e.FLOE_HOST,
    port: e.PORT,
    accelerator: e.FLOE_ACCEL,
    databaseUrl: e.DATABASE_URL || undefined,
    poolsFile: e.FLOE_POOLS_FILE || undefined,
    hypervisor: e.FLOE_HYPERVISOR,
    hostsFile: e.FLOE_HOSTS_FILE || undefined,
    libvirtOwner: e.FLOE_LIBVIRT_OWNER,
    spiceProxyPort: e.FLOE_SPICE_PROXY_PORT,
    spiceProxyHost: e.FLOE_SPICE_PROXY_HOST ?? e.FLOE_HOST,
    logLevel: e.FLOE_LOG_LEVEL,
    replicaId: e.FLOE_REPLICA_ID ?? os.hostname().slice(0, 40),
  };
}
