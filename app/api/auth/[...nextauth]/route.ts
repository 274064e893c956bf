/**
 * next-auth's endpoints (sign-in, sign-out, session, CSRF, the OIDC callback) for the App
 * Router. POST bodies are checked here first, because next-auth answers a malformed one with a
 * 500: at most 16 KiB, form-encoded or a JSON object, and handed on form-encoded with only
 * text values. Anything else gets a 4xx with a message.
 */
import NextAuth from 'next-auth';
import { NextRequest } from 'next/server';
import { authOptions } from '@/lib/auth';
import { jsonError } from '@/lib/http';

export const dynamic = 'force-dynamic';

const MAX_BODY_BYTES = 16 * 1024;
type Context = { params: Promise<{ nextauth: string[] }> };

const handler = NextAuth(authOptions) as (request: NextRequest, context: Context) => Promise<Response>;

async function checkedBody(request: NextRequest): Promise<URLSearchParams | Response> {
  const type = request.headers.get('content-type') ?? '';
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) return jsonError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) return jsonError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  if (type.includes('application/x-www-form-urlencoded')) return new URLSearchParams(text);
  if (type.includes('application/json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return jsonError(400, 'The request body is not valid JSON.');
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) return jsonError(400, 'Invalid request: body: expected an object.');
    const form = new URLSearchParams();
    for (const [key, field] of Object.entries(value)) {
      if (typeof field === 'string' || typeof field === 'number' || typeof field === 'boolean') form.set(key, String(field));
    }
    return form;
  }
  return jsonError(415, 'Send the request body as application/x-www-form-urlencoded or application/json.');
}

export function GET(request: NextRequest, context: Context) {
  return handler(request, context);
}

export async function POST(request: NextRequest, context: Context) {
  const body = await checkedBody(request);
  if (body instanceof Response) return body;
  const headers = new Headers(request.headers);
  headers.set('content-type', 'application/x-www-form-urlencoded');
  headers.delete('content-length');
  return handler(new NextRequest(request.url, { method: 'POST', headers, body: body.toString() }), context);
}
