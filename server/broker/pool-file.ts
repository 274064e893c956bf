/**
 * The pool file: pools defined in JSON (FLOE_POOLS_FILE), validated with zod so a bad file stops
 * start-up with a message naming the pool and field. Relative image paths are taken from the
 * file's folder. Without a file, Floe runs the demo pools.
 *
 * ```json
 * { "pools": [ { "name": "office", "title": "Office desktop", "kind": "persistent",
 *     "template": { "baseImage": "images/office.qcow2", "readiness": { "kind": "guest-agent" } },
 *     "memoryMiB": 4096, "vcpus": 2, "spares": 2, "maxSize": 50, "maxPerUser": 1,
 *     "graceMinutes": 30, "onIdle": "shutdown" } ] }
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type PoolDefinition, PoolDefinitionSchema } from './pools';

const PoolFileSchema = z
  .object({ pools: z.array(PoolDefinitionSchema).min(1, 'the file must define at least one pool') })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.pools.forEach((pool, i) => {
      if (seen.has(pool.name)) ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: `"${pool.name}" is defined twice` });
      seen.add(pool.name);
    });
  });

export class PoolFileError extends Error {
  constructor(file: string, problems: string) {
    super(`Pool file ${file} is not valid: ${problems}`);
    this.name = 'PoolFileError';
  }
}

/** Reads and validates a pool file; throws PoolFileError naming each bad field. */
export function loadPoolFile(file: string): PoolDefinition[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PoolFileError(file, error instanceof Error ? error.message : String(error));
  }
  const parsed = PoolFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${describePath(raw, issue.path)}: ${issue.message}`).join('; ');
    throw new PoolFileError(file, problems);
  }
  const folder = path.dirname(path.resolve(file));
  return parsed.data.pools.map((pool) => {
    if (typeof pool.template === 'string') return pool;
    const absolute = (p: string | undefined) => (p === undefined ? undefined : path.resolve(folder, p));
    return {
      ...pool,
      template: {
        ...pool.template,
        baseImage: path.resolve(folder, pool.template.baseImage),
        kernel: absolute(pool.template.kernel),
        initrd: absolute(pool.template.initrd),
      },
    };
  });
}

/** "pools[1] (office).maxSize" reads better than "pools.1.maxSize". */
function describePath(raw: unknown, issuePath: PropertyKey[]): string {
  const [top, index, ...rest] = issuePath;
  if (top === 'pools' && typeof index === 'number') {
    const name = (raw as { pools?: { name?: unknown }[] })?.pools?.[index]?.name;
    const label = typeof name === 'string' ? `pools[${index}] (${name})` : `pools[${index}]`;
    return [label, ...rest.map(String)].join('.');
  }
  return issuePath.map(String).join('.') || 'file';
}
