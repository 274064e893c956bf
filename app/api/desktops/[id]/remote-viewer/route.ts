/** GET: a `.vv` file that opens one of the signed-in person's desktops in remote-viewer (valid for a minute). */
import { currentUser } from '@/lib/auth';
import { errorResponse, jsonError } from '@/lib/http';
import { remoteViewerFile } from '@/lib/remote-viewer';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, context: { params: Promise<{ id: string }> }) {
  try {
    const user = await currentUser();
    if (!user) return jsonError(401, 'Please sign in.');
    const { id } = await context.params;
    const file = await remoteViewerFile(user, id);
    return new Response(file.body, {
      headers: {
        'Content-Type': 'application/x-virt-viewer',
        'Content-Disposition': `attachment; filename="${file.fileName}"`,
        'Cache-Control': 'no-store',
      },
    });
  } catch (error) {
    return errorResponse(error);
  }
}
