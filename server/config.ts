/**
 * Floe's settings, read once from the environment and validated with zod so that a bad value
 * stops start-up with a message naming the variable. Defaults give the embedded setup: data in
 * `.data/` beside the checkout, the demo guest image in `.data/images/`, port 3000 on loopback.
 */
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
  FLOE_SPICE_PROXY_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  FLOE_SPICE_PROXY_HOST: z.string().min(1).optional(),
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
  /** Port of the CONNECT proxy for remote-viewer (0 picks one); off when undefined. */
  spiceProxyPort: number | undefined;
  /** Host name remote-viewer uses to reach the proxy (default: `host`). */
  spiceProxyHost: string;
  logLevel: string;
};

/** Reads and validates the environment; throws an Error naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FloeConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Bad environment: ${problems}`);
  }
  const e = parsed.data;
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
    spiceProxyPort: e.FLOE_SPICE_PROXY_PORT,
    spiceProxyHost: e.FLOE_SPICE_PROXY_HOST ?? e.FLOE_HOST,
    logLevel: e.FLOE_LOG_LEVEL,
  };
}
