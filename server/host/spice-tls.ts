/**
 * The certificates of remote-viewer's TLS link: Floe makes, once, its own CA and a server
 * certificate signed by it, with Debian's `openssl` command (Node's crypto can read X.509 but
 * cannot issue it), and keeps them in `DATA/spice-tls/` (folder 0700, files 0600). The SPICE
 * proxy (server/console/spice-proxy.ts) speaks TLS with the server certificate; each `.vv` file
 * carries the CA and the certificate's subject (`ca=`, `host-subject=`), so remote-viewer trusts
 * exactly this Floe. Keys are EC P-256; the CA lives 10 years, the server certificate 825 days
 * and is made again, from the same CA, when it is missing or expires within 30 days.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The server certificate's subject, as remote-viewer's `host-subject` compares it. */
export const SPICE_TLS_SUBJECT = 'CN=floe-spice';

export interface SpiceTls {
  /** PEM of the server's key and certificate (for tls.createSecureContext). */
  key: string;
  cert: string;
  /** PEM of Floe's CA certificate (the `.vv` file's `ca`). */
  ca: string;
  /** The server certificate's subject (the `.vv` file's `host-subject`). */
  subject: string;
  folder: string;
}

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Loads DATA/spice-tls, making the CA and the server certificate first where needed. */
export function ensureSpiceTls(dataDir: string): SpiceTls {
  const folder = path.join(dataDir, 'spice-tls');
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  fs.chmodSync(folder, 0o700);
  const file = (name: string) => path.join(folder, name);
  const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  if (!fs.existsSync(file('ca-cert.pem')) || !fs.existsSync(file('ca-key.pem'))) {
    openssl(['req', '-x509', ...curve, '-days', '3650', '-subj', '/CN=Floe SPICE CA', '-keyout', 'ca-key.pem', '-out', 'ca-cert.pem'], folder);
    fs.rmSync(file('server-cert.pem'), { force: true });
  }
  const serverCertValid = (() => {
    try {
      const cert = new X509Certificate(fs.readFileSync(file('server-cert.pem')));
      const ca = new X509Certificate(fs.readFileSync(file('ca-cert.pem')));
      return cert.verify(ca.publicKey) && Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS && fs.existsSync(file('server-key.pem'));
    } catch {
      return false;
    }
  })();
  if (!serverCertValid) {
    fs.writeFileSync(file('server-ext.cnf'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:floe-spice\n', { mode: 0o600 });
    openssl(['req', '-new', ...curve, '-subj', `/${SPICE_TLS_SUBJECT}`, '-keyout', 'server-key.pem', '-out', 'server.csr'], folder);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '825', '-extfile', 'server-ext.cnf', '-out', 'server-cert.pem'], folder);
    fs.rmSync(file('server.csr'), { force: true });
  }
  for (const name of fs.readdirSync(folder)) fs.chmodSync(file(name), 0o600);
  return {
    key: fs.readFileSync(file('server-key.pem'), 'utf8'),
    cert: fs.readFileSync(file('server-cert.pem'), 'utf8'),
    ca: fs.readFileSync(file('ca-cert.pem'), 'utf8'),
    subject: SPICE_TLS_SUBJECT,
    folder,
  };
}
