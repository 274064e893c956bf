/**
 * `.vv` files (virt-viewer's connection files) for opening a desktop in remote-viewer. Each
 * file carries a fresh console ticket and SPICE password valid for a minute. When Floe's SPICE
 * proxy runs, the file routes through it (`proxy=`, host `<ticket>.console.floe`), so it works
 * from any machine that reaches the portal; otherwise it names the desktop's SPICE address
 * directly, which only works where that address is reachable (loopback: the same machine).
 * Through the proxy the file asks for TLS on every channel (`tls-port`, `secure-channels=all`)
 * and names Floe's CA (`ca`, its PEM on one line with `\n`) and the proxy certificate's subject
 * (`host-subject`): remote-viewer then trusts this Floe only (server/host/spice-tls.ts).
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
    // Through the proxy every channel is TLS, checked against Floe's CA and certificate subject.
    ...(proxy
      ? [`tls-port=${SPICE_TLS_PORT}`, 'secure-channels=all', `ca=${pemLine(proxy.tls.ca)}`, `host-subject=${vvValue(proxy.tls.subject)}`]
      : [`port=${desktop.spice_port}`]),
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

/** The port named in the tunnel's host name for TLS (the proxy routes by ticket, not port). */
const SPICE_TLS_PORT = 5901;

/** A PEM for one `.vv` line: virt-viewer reads `\n` as a line break in `ca`. */
function pemLine(pem: string): string {
  return pem.trim().replace(/\r?\n/g, '\\n');
}

/** A value for one `.vv` line: control characters (a newline would add a line) become spaces. */
export function vvValue(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}
