/** GET /metrics: Prometheus metrics, for a scraper with FLOE_METRICS_TOKEN or a signed-in admin. */
import { currentUser } from '@/lib/auth';
import { errorResponse, jsonError } from '@/lib/http';
import { hasMetricsToken, renderMetrics } from '@/lib/metrics';

export const dynamic = 'force-dynamic';

export async function GET(request: Request) {
  try {
    if (!hasMetricsToken(request.headers.get('authorization'))) {
      const user = await currentUser();
      if (!user) return jsonError(401, 'Send the metrics token (Authorization: Bearer …) or sign in as an admin.');
      if (user.role !== 'admin') return jsonError(403, 'Only administrators may read the metrics.');
    }
    const { contentType, body } = await renderMetrics();
    return new Response(body, { headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store' } });
  } catch (error) {
    return errorResponse(error);
  }
}
