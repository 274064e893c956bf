/**
 * Admins change one person's account: POST {"action": "role", "role"} | {"action": "disable"} |
 * {"action": "enable"} | {"action": "unlock"} | {"action": "reset-password"}. Answers
 * {"message"} (and {"password"} once after a reset); 404 for an unknown user, 400 with `issues`
 * for a refused field. Every change is audited.
 */
import { NextResponse } from 'next/server';
import { requireApiRole } from '@/lib/auth';
import { readJson } from '@/lib/http';
import { UserChangeSchema, changeUser, userErrorResponse } from '@/lib/users';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, context: { params: Promise<{ name: string }> }) {
  try {
    const admin = await requireApiRole('admin');
    const { name } = await context.params;
    return NextResponse.json(await changeUser(admin, name, await readJson(request, UserChangeSchema)));
  } catch (error) {
    return userErrorResponse(error);
  }
}
