/**
 * Shared pieces of Floe's route handlers: reading a JSON body with a size limit and a zod
 * schema, and turning errors into JSON answers with a status and a message a person can read.
 * A broker error keeps its own status and words; anything unexpected is logged and answered
 * 500 without internals.
 */
import 'server-only';
import fs from 'node:fs';
import { NextResponse } from 'next/server';
import type { z } from 'zod';
import { getRuntime } from '@/server/runtime-registry';

const MAX_BODY_BYTES = 64 * 1024;

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Parses the request body as JSON matching `schema`; throws RequestError (400/413/415) saying what is wrong. */
export async function readJson<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  const type = request.headers.get('content-type') ?? '';
  if (!type.includes('application/json')) throw new RequestError(415, 'Send the request body as application/json.');
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw new RequestError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RequestError(400, 'The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new RequestError(400, `Invalid request: ${problems}`);
  }
  return parsed.data;
}

export function jsonError(status: number, message: string): NextResponse {
  return NextResponse.json({ error: message }, { status });
}

/**
 * Answers an error. Errors with a numeric `status` (RequestError, the broker's named errors,
 * which are matched by shape because Next bundles its own copy of their classes) keep it.
 */
export function errorResponse(error: unknown): NextResponse {
  const status = (error as { status?: unknown })?.status;
  if (error instanceof Error && typeof status === 'number' && status >= 400 && status < 600) {
    return jsonError(status, error.message);
  }
  const runtime = getRuntime();
  if (isDiskFull(error) || dataDiskIsFull(runtime.config.dataDir)) {
    runtime.log.error({ err: error }, 'request failed: the data disk is full');
    return jsonError(507, `Floe's data disk is full (no space left on the disk holding ${runtime.config.dataDir}); nothing was changed. Your running desktop is not affected.`);
  }
  runtime.log.error({ err: error }, 'request failed');
  return jsonError(500, 'Something went wrong on the server. Please try again.');
}

/** A write that failed for want of space: SQLite's SQLITE_FULL or the system's ENOSPC. */
function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || /no space left on device|database or disk is full/i.test((error as Error)?.message ?? '');
}

/**
 * Whether the data disk has (next to) no space left. Asked when a request failed for a reason
 * the error does not say: SQLite rolls back a transaction on SQLITE_FULL, and the rollback's
 * own error is what arrives here.
 */
function dataDiskIsFull(dataDir: string): boolean {
  try {
    const stats = fs.statfsSync(dataDir);
    return stats.bavail * stats.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}

/** The origin the browser used for this request (its Origin header, else from the Host header). */
export function requestOrigin(request: Request): string {
  const origin = request.headers.get('origin');
  if (origin) return origin;
  const url = new URL(request.url);
  const host = request.headers.get('host') ?? url.host;
  return `${url.protocol}//${host}`;
}
