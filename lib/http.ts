/**
 * Shared pieces of Floe's route handlers: reading a JSON body with a size limit and a zod
 * schema, and turning errors into JSON answers with a status and a message a person can read
 * (`error`, English) plus its words (`code`, `params`) for the page to say in the person's
 * language. A broker error keeps its own status and words; anything unexpected is logged and
 * answered 500 without internals.
 */
import 'server-only';
import fs from 'node:fs';
import { NextResponse } from 'next/server';
import type { z } from 'zod';
import { getRuntime } from '@/server/runtime-registry';
import { type Words, wordsOf } from '@/server/words';

const MAX_BODY_BYTES = 64 * 1024;

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly words?: Words,
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

/** One problem with a form's field: `field` is the zod path joined by dots ("template.baseImage"), with its words. */
export interface FieldIssue extends Partial<Words> {
  field: string;
  message: string;
}

/** A zod issue in plain English and in words a page says in its own language (Api.field*). */
function describeIssue(issue: z.core.$ZodIssue): { message: string; words?: Words } {
  switch (issue.code) {
    case 'too_small': {
      const minimum = Number(issue.minimum);
      if (issue.origin === 'string' && minimum <= 1) return { message: 'is required', words: { code: 'fieldRequired' } };
      if (issue.origin === 'string') return { message: `needs at least ${minimum} characters`, words: { code: 'fieldTooShort', params: { minimum } } };
      return { message: `must be at least ${minimum}`, words: { code: 'fieldTooSmall', params: { minimum } } };
    }
    case 'too_big': {
      const maximum = Number(issue.maximum);
      if (issue.origin === 'string') return { message: `may have at most ${maximum} characters`, words: { code: 'fieldTooLong', params: { maximum } } };
      return { message: `must be at most ${maximum}`, words: { code: 'fieldTooBig', params: { maximum } } };
    }
    case 'invalid_type':
      if (issue.input === undefined) return { message: 'is required', words: { code: 'fieldRequired' } };
      if (issue.expected === 'int') return { message: 'must be a whole number', words: { code: 'fieldWholeNumber' } };
      return { message: `must be a ${issue.expected}`, words: { code: 'fieldType', params: { expected: issue.expected } } };
    case 'invalid_value': {
      const values = issue.values.map(String).join(', ');
      return { message: `must be one of: ${values}`, words: { code: 'fieldOneOf', params: { values } } };
    }
    case 'unrecognized_keys': {
      const keys = issue.keys.join(', ');
      return { message: `unknown field${issue.keys.length > 1 ? 's' : ''}: ${keys}`, words: { code: 'fieldUnknown', params: { keys } } };
    }
    default:
      return { message: issue.message };
  }
}

/** One FieldIssue per zod issue, for a form to show beside each field. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => {
    const { message, words } = describeIssue(issue);
    return { field: issue.path.map(String).join('.') || 'body', message, ...words };
  });
}

/** An error answer: `error` in English for API clients, and the words a page says it with (server/words.ts). */
export function jsonError(status: number, message: string, words?: Words): NextResponse {
  return NextResponse.json({ error: message, ...words }, { status });
}

/**
 * Answers an error. Errors with a numeric `status` (RequestError, the broker's named errors,
 * which are matched by shape because Next bundles its own copy of their classes) keep it.
 */
export function errorResponse(error: unknown): NextResponse {
  const status = (error as { status?: unknown })?.status;
  if (error instanceof Error && typeof status === 'number' && status >= 400 && status < 600) {
    return jsonError(status, error.message, wordsOf(error));
  }
  const runtime = getRuntime();
  if (isDiskFull(error) || dataDiskIsFull(runtime.config.dataDir)) {
    runtime.log.error({ err: error }, 'request failed: the data disk is full');
    return jsonError(507, `Floe's data disk is full (no space left on the disk holding ${runtime.config.dataDir}); nothing was changed. Your running desktop is not affected.`, { code: 'diskFull' });
  }
  runtime.log.error({ err: error }, 'request failed');
  return jsonError(500, 'Something went wrong on the server. Please try again.', { code: 'serverError' });
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
