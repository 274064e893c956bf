/**
 * Admin: template versions of a pool, POST {"action": "publish" | "roll-back", "reason": "…"}.
 * Publishing builds a snapshot of the pool's template as a new version, then replaces spares
 * with clones of it; roll-back makes the previous version current again. Answers at once with
 * the version concerned (202); the pool page shows the progress. Audited with the reason.
 */
import { NextResponse } from 'next/server';
import { TemplateActionSchema, changeTemplate } from '@/lib/admin';
import { requireApiRole } from '@/lib/auth';
import { errorResponse, readJson } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ name: string }> }) {
  try {
    const user = await requireApiRole('admin');
    const { name } = await context.params;
    const { action, reason } = await readJson(request, TemplateActionSchema);
    return NextResponse.json({ version: await changeTemplate(user, name, action, reason) }, { status: 202 });
  } catch (error) {
    return errorResponse(error);
  }
}
