/**
 * Admins add a person: POST {"name", "displayName"?, "role"} answers 201 {"name", "password"}
 * with a generated password shown once; a bad or taken name answers 400 with `issues` naming
 * the field. Audited as "user added".
 */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { requireApiRole } from '@/lib/auth';
import { fieldIssues, readJson } from '@/lib/http';
import { NewUserSchema, addUser, userErrorResponse } from '@/lib/users';

export const dynamic = 'force-dynamic';

export async function POST(request: Request) {
  try {
    const admin = await requireApiRole('admin');
    const parsed = NewUserSchema.safeParse(await readJson(request, z.unknown()));
    if (!parsed.success) {
      const issues = fieldIssues(parsed.error);
      return NextResponse.json({ error: issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues }, { status: 400 });
    }
    return NextResponse.json(await addUser(admin, parsed.data), { status: 201 });
  } catch (error) {
    return userErrorResponse(error);
  }
}
