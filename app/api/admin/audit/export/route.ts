/**
 * Admin: the audit log as a CSV file (GET, same filters as the audit page: who, action, target,
 * from, to), newest first, downloaded as floe-audit-YYYYMMDD-HHMM.csv.
 */
import { requireApiRole } from '@/lib/auth';
import { auditCsv, auditFilterFromParams } from '@/lib/audit';
import { errorResponse } from '@/lib/http';

export const dynamic = 'force-dynamic';

export async function GET(request: Request) {
  try {
    await requireApiRole('admin');
    const { filter } = auditFilterFromParams(new URL(request.url).searchParams);
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
    return new Response(await auditCsv(filter), {
      headers: {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="floe-audit-${stamp}.csv"`,
        'Cache-Control': 'no-store',
      },
    });
  } catch (error) {
    return errorResponse(error);
  }
}
