/**
 * `.vv` files (virt-viewer's connection files) for opening a desktop in remote-viewer. Each
 * file carries a fresh console ticket and SPICE password valid for a minute. When Floe's SPICE
 * proxy runs, the file routes through it (`proxy=`, host `<ticket>.console.floe`), so it works
 * from any machine that reaches the portal; otherwise it names the desktop's SPICE address
 * directly, which only works where that address is reachable (loopback: the same machine).
 */
import 'server-only';
import { REMOTE_VIEWER_ORIGIN } from '@/server/broker/console-tickets';
import { getRuntime } from '@/server/runtime-registry';
import type { SessionUser } from './auth';

export async function remoteViewerFile(user: SessionUser, desktopId: string): Promise<{ fileName: string; body: string }> {
  const runtime = getRuntime();
  const desktop = await runtime.broker.desktopOfUser(user.id, desktopId);
  const pool = await runtime.broker.getPool(desktop.pool_name);
  // The ticket carries the sign-in it came from: signing out closes the remote-viewer console too.
  const ticket = await runtime.tickets.issue({ userId: user.id, desktopId, origin: REMOTE_VIEWER_ORIGIN, signInSessionId: user.signInSessionId });
  await runtime.audit({ actor: user.name, action: 'console ticket (remote-viewer)', target: desktopId });
  const proxy = runtime.spiceProxy;
  const lines = [
    '[virt-viewer]',
    'type=spice',
    proxy ? `host=${ticket.ticket}.console.floe` : `host=${desktop.spice_host ?? '127.0.0.1'}`,
    `port=${proxy ? 5900 : desktop.spice_port}`,
    `password=${ticket.password}`,
    ...(proxy ? [`proxy=http://${proxy.host}:${proxy.port}`] : []),
    `title=${vvValue(pool.title)} (Floe)`,
    'delete-this-file=1',
    'toggle-fullscreen=shift+f11',
    'release-cursor=shift+f12',
    'secure-attention=ctrl+alt+end',
  ];
  return { fileName: `${desktopId}.vv`, body: `${lines.join('\n')}\n` };
}

/** A value for one `.vv` line: control characters (a newline would add a line) become spaces. */
export function vvValue(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}
