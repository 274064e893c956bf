/**
 * Floe's server: the only file that knows both Next.js and the backend. It starts the backend
 * (database, broker, hypervisor), serves the Next.js app, and routes WebSocket upgrades on the
 * console path to the SPICE relay (everything else to Next, which keeps dev reload working).
 * Desktops keep running when Floe stops; the next start re-adopts them.
 *
 * Environment: see server/config.ts. FLOE_DEMO=1 creates the demo accounts on first start.
 */
import http from 'node:http';
import next from 'next';
import { clientAddressOfRequest, stampClientAddress } from './accounts/client-address';
import { consoleAccess } from './accounts/console-access';
import { ensureDemoAccounts } from './accounts/demo-accounts';
import { checkSignInSettings } from './accounts/services';
import { loadConfig, repoRoot } from './config';
import { FileHandleWatch, raiseFileLimit } from './host/file-handles';
import { answerRefusal, refusalOf } from './service-gate';
import { REMOTE_VIEWER_ORIGIN } from './broker/console-tickets';
import { type ConsoleSessionSummary, createConsoleRelay } from './console/relay';
import { createSpiceProxy, ticketFromAuthority } from './console/spice-proxy';
import { log } from './log';
import { CONSOLE_CLOSED_BY_FLOE, createRuntime } from './runtime';
import { publishRuntime } from './runtime-registry';
import { loadAuthSecret } from './secret';

const SPICE_MAIN_CHANNEL = 1;
/** How often live consoles are checked against their records (ended elsewhere, sign-in over, desktop stopped). */
const CONSOLE_SWEEP_MS = 2000;

async function main(): Promise<void> {
  const config = loadConfig();
  const fileLimit = raiseFileLimit();
  log.info({ before: fileLimit.before, after: fileLimit.after }, `file-handle limit ${fileLimit.after.soft}: ${fileLimit.note}`);
  // A bad FLOE_OIDC_* or session setting stops start-up here, naming the variable.
  log.info({ signIn: checkSignInSettings() }, 'sign-in settings');
  const dev = process.env.NODE_ENV !== 'production';
  process.env.NEXTAUTH_SECRET = loadAuthSecret(config.dataDir);
  // Sign-in URLs follow the Host the browser used (Floe listens on loopback by default, or
  // behind a proxy that sets it); NEXTAUTH_URL still wins when set.
  process.env.AUTH_TRUST_HOST ??= 'true';

  const runtime = await createRuntime(config);
  publishRuntime(runtime);
  runtime.databaseHealth.start();
  const fileHandles = new FileHandleWatch();
  runtime.metrics.attachHealth({ databaseUp: () => runtime.databaseHealth.up(), handlesLow: () => fileHandles.low() });
  const stopReconciling = runtime.broker.startReconciling(undefined, () => !runtime.databaseHealth.up());
  if (process.env.FLOE_DEMO === '1') {
    const created = await ensureDemoAccounts(runtime.accounts, config.dataDir, process.env.FLOE_DEMO_PASSWORD || undefined);
    if (created.length > 0) {
      console.log(`Demo accounts (name, role, password), also in ${config.dataDir}/demo-accounts.txt:`);
      for (const line of created) console.log(`  ${line}`);
    }
  }

  const app = next({ dev, dir: repoRoot, hostname: config.host, port: config.port });
  await app.prepare();
  const handleRequest = app.getRequestHandler();
  const handleNextUpgrade = app.getUpgradeHandler();

  /** A console session ended (browser or remote-viewer): its record and the metrics learn it. */
  const recordConsoleEnd = (summary: ConsoleSessionSummary) => {
    runtime.metrics.consoleSessionEnded(summary.bytesToDesktop, summary.bytesToBrowser);
    runtime.consoleSessions.end(summary).catch((error: unknown) => log.error({ err: error }, 'could not record console session end'));
  };

  const relay = createConsoleRelay({
    onRefusal: (_status, reason) => runtime.metrics.consoleRefused(reason),
    onSessionEnd: recordConsoleEnd,
    isAllowedOrigin: (origin, req) => origin !== undefined && sameHost(origin, req.headers.host),
    resolve: async (req) => {
      // The browser's sign-in must be live and the ticket its own, before the ticket is claimed.
      const access = await consoleAccess(req, runtime.database.db);
      if (!access.ok) return { status: access.status, reason: access.reason };
      const url = new URL(req.url ?? '/', 'http://floe.invalid');
      const check = await runtime.tickets.check(url.searchParams.get('ticket'), req.headers.origin, {
        address: clientAddressOfRequest(req) ?? undefined,
        userAgent: req.headers['user-agent'],
      });
      if (!check.ok) return { status: check.status, reason: check.reason };
      for (const key of check.takenOver) relay.closeSession(key, 'taken over', CONSOLE_CLOSED_BY_FLOE);
      return {
        target: { host: check.host, port: check.port },
        sessionKey: check.sessionKey,
        // A ticket starts one session: its first connection is the main channel; a second
        // main channel would be a new session (a replay), which is refused.
        admitChannel: (link) =>
          check.firstChannel === (link.channelType === SPICE_MAIN_CHANNEL)
            ? undefined
            : check.firstChannel
              ? 'a console session starts with the main channel'
              : 'console ticket already used',
      };
    },
  });

  runtime.metrics.attachRelay(relay);
  runtime.consoleRelay = relay;
  // Consoles ended elsewhere (another replica's takeover, a helpdesk disconnect, a sign-out)
  // are closed here too: the records, not this process's memory, say which are over.
  const sweep = setInterval(() => {
    const live = relay.activeSessions().map((s) => s.sessionKey);
    runtime.consoleSessions
      .toClose(live)
      .then((closing) => closing.forEach(({ id, reason }) => relay.closeSession(id, reason, CONSOLE_CLOSED_BY_FLOE)))
      .catch((error: unknown) => log.error({ err: error }, 'console sweep failed'));
  }, CONSOLE_SWEEP_MS);
  sweep.unref();

  // remote-viewer's way in: a CONNECT proxy whose host names carry console tickets.
  const spiceProxy = config.spiceProxyPort === undefined ? undefined : createSpiceProxy({
    onRefusal: (_status, reason) => runtime.metrics.consoleRefused(reason),
    resolve: async (authority, req) => {
      const check = await runtime.tickets.check(ticketFromAuthority(authority) ?? null, REMOTE_VIEWER_ORIGIN, {
        address: req.socket.remoteAddress,
        userAgent: req.headers['user-agent'] ?? 'remote-viewer',
      });
      if (!check.ok) return { status: check.status, reason: check.reason };
      for (const key of check.takenOver) relay.closeSession(key, 'taken over', CONSOLE_CLOSED_BY_FLOE);
      return { host: check.host, port: check.port, sessionKey: check.sessionKey };
    },
    onSessionEnd: recordConsoleEnd,
  });
  if (spiceProxy) {
    await new Promise<void>((resolve) => spiceProxy.listen(config.spiceProxyPort, config.host, resolve));
    const proxyAddress = spiceProxy.address();
    const proxyPort = typeof proxyAddress === 'object' && proxyAddress ? proxyAddress.port : config.spiceProxyPort!;
    runtime.spiceProxy = { host: config.spiceProxyHost, port: proxyPort };
    log.info({ port: proxyPort }, 'SPICE proxy for remote-viewer is listening');
  }

  const server = http.createServer((req, res) => {
    stampClientAddress(req);
    const refusal = refusalOf(req, { handlesLow: () => fileHandles.low(), databaseUp: () => runtime.databaseHealth.up() });
    if (refusal) return answerRefusal(req, res, refusal);
    void handleRequest(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (!relay.handleUpgrade(req, socket, head)) void handleNextUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  log.info({ url, accelerator: config.accelerator, database: runtime.database.engine }, 'Floe is listening');
  console.log(`Floe is ready at ${url}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'Floe is stopping (desktops keep running)');
    stopReconciling();
    runtime.databaseHealth.stop();
    fileHandles.stop();
    clearInterval(sweep);
    server.closeAllConnections();
    await relay.close();
    spiceProxy?.close();
    await new Promise((resolve) => server.close(resolve));
    await runtime.database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, 'Floe could not start');
  console.error(`Floe could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
