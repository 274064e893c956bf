/**
 * Floe's server: the only file that knows both Next.js and the backend. It starts things: the
 * backend (database, broker, hypervisor, the console gate), the Next.js app, the console relay
 * and the remote-viewer proxy, whose every connection the gate admits. WebSocket upgrades off
 * the console path are refused 404 (in dev they go to Next, for hot reload).
 * Desktops keep running when Floe stops; the next start re-adopts them.
 *
 * Environment: see server/config.ts. FLOE_DEMO=1 creates the demo accounts on first start.
 */
import http from 'node:http';
import next from 'next';
import { ensureDemoAccounts } from './accounts/demo-accounts';
import { desktopDemoPool } from './broker/pools';
import { DesktopTemplateBuild } from './desktop-template-build';
import { checkSignInSettings } from './accounts/services';
import { loadConfig, repoRoot } from './config';
import { FileHandleWatch, raiseFileLimit } from './host/file-handles';
import { ensureSpiceTls } from './host/spice-tls';
import { answerRefusal, refusalOf } from './service-gate';
import { refuseUpgrade } from './console/http-refusal';
import { createConsoleRelay } from './console/relay';
import { createSpiceProxy, ticketFromAuthority } from './console/spice-proxy';
import { log } from './log';
import { createRuntime } from './runtime';
import { guardRequest } from './request-guard';
import { publishRuntime } from './runtime-registry';
import { loadAuthSecret, loadSharedAuthSecret } from './secret';

async function main(): Promise<void> {
  const config = loadConfig();
  // Whatever Floe writes (database, disks, secrets, logs) is its own: files 0600, folders 0700.
  process.umask(0o077);
  const fileLimit = raiseFileLimit();
  log.info({ before: fileLimit.before, after: fileLimit.after }, `file-handle limit ${fileLimit.after.soft}: ${fileLimit.note}`);
  // A bad FLOE_OIDC_* or session setting stops start-up here, naming the variable.
  log.info({ signIn: checkSignInSettings() }, 'sign-in settings');
  const dev = process.env.NODE_ENV !== 'production';
  // Sign-in URLs follow the Host the browser used (Floe listens on loopback by default, or
  // behind a proxy that sets it); NEXTAUTH_URL still wins when set. Forwarded Host headers
  // reach next-auth only from FLOE_TRUSTED_PROXIES (request-guard.ts drops the others).
  process.env.AUTH_TRUST_HOST ??= 'true';

  const runtime = await createRuntime(config);
  // Replicas on one PostgreSQL share the key (kept in the database); one SQLite Floe keeps it in its data folder.
  process.env.NEXTAUTH_SECRET =
    runtime.database.engine === 'postgres' ? await loadSharedAuthSecret(runtime.database.db) : loadAuthSecret(config.dataDir);
  publishRuntime(runtime);
  runtime.databaseHealth.start();
  const fileHandles = new FileHandleWatch();
  runtime.metrics.attachHealth({ databaseUp: () => runtime.databaseHealth.up(), handlesLow: () => fileHandles.low() });
  // Only the replica holding the reconcile lease reconciles (always this one on SQLite).
  const stopReplicaDuties = runtime.replicas.start();
  const stopReconciling = runtime.broker.startReconciling(undefined, () => !runtime.databaseHealth.up() || !runtime.replicas.holdsLease());
  if (process.env.FLOE_DEMO === '1') {
    const created = await ensureDemoAccounts(runtime.accounts, config.dataDir, process.env.FLOE_DEMO_PASSWORD || undefined);
    if (created.length > 0) {
      console.log(`Demo accounts (name, role, password), also in ${config.dataDir}/demo-accounts.txt:`);
      for (const line of created) console.log(`  ${line}`);
    }
    if (!config.poolsFile && process.env.FLOE_DESKTOP_TEMPLATE === '1') {
      // `npm run demo`: the graphical template builds in the background; its pool appears when it is there.
      // Until then My desktops and the admin pool page show it as being prepared, with progress.
      const build = new DesktopTemplateBuild({
        repoRoot,
        imageDir: config.imageDir,
        log: log.child({ module: 'desktop-template' }),
        script: process.env.FLOE_DESKTOP_TEMPLATE_SCRIPT || undefined,
      });
      const preparing = { name: desktopDemoPool.name, title: desktopDemoPool.title, progress: () => build.progress() };
      runtime.preparingPools.push(preparing);
      build.done
        .then(() => runtime.broker.seedPools([desktopDemoPool]))
        .then(() => {
          runtime.preparingPools = runtime.preparingPools.filter((pool) => pool !== preparing);
        })
        .catch((error: unknown) => log.error({ err: error }, 'the desktop template could not be built; the Desktop pool stays away'));
    }
  }

  const app = next({ dev, dir: repoRoot, hostname: config.host, port: config.port });
  await app.prepare();
  const handleRequest = app.getRequestHandler();
  const handleNextUpgrade = app.getUpgradeHandler();

  // The two ways into a console; the gate (server/consoles) admits every connection of both.
  const relay = createConsoleRelay({
    onRefusal: (_status, reason) => runtime.metrics.consoleRefused(reason),
    onSessionEnd: runtime.consoles.sessionEnded,
    isAllowedOrigin: (origin, req) => runtime.consoles.isAllowedOrigin(origin, req),
    resolve: runtime.consoles.resolveBrowser,
  });
  runtime.metrics.attachRelay(relay);
  runtime.consoles.attach(relay);
  const stopSweep = runtime.consoles.start();
  const stopPruning = runtime.startPruning();

  // remote-viewer's way in: a CONNECT proxy whose host names carry console tickets.
  // Its tunnels speak TLS with a certificate from Floe's own CA (server/host/spice-tls.ts).
  const spiceTls = config.spiceProxyPort === undefined ? undefined : ensureSpiceTls(config.dataDir);
  const spiceProxy = spiceTls === undefined ? undefined : createSpiceProxy({
    tls: { key: spiceTls.key, cert: spiceTls.cert },
    onRefusal: (_status, reason) => runtime.metrics.consoleRefused(reason),
    resolve: (authority, req) => runtime.consoles.resolveRemoteViewer(ticketFromAuthority(authority), req),
    onSessionEnd: runtime.consoles.sessionEnded,
  });
  if (spiceProxy && spiceTls) {
    runtime.consoles.attach(spiceProxy);
    await new Promise<void>((resolve) => spiceProxy.server.listen(config.spiceProxyPort, config.host, resolve));
    const proxyAddress = spiceProxy.server.address();
    const proxyPort = typeof proxyAddress === 'object' && proxyAddress ? proxyAddress.port : config.spiceProxyPort!;
    runtime.spiceProxy = { host: config.spiceProxyHost, port: proxyPort, tls: { ca: spiceTls.ca, subject: spiceTls.subject } };
    log.info({ port: proxyPort }, 'SPICE proxy for remote-viewer is listening');
  }

  const server = http.createServer((req, res) => {
    if (!guardRequest(req, res)) return;
    const refusal = refusalOf(req, { handlesLow: () => fileHandles.low(), databaseUp: () => runtime.databaseHealth.up() });
    if (refusal) return answerRefusal(req, res, refusal);
    void handleRequest(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (relay.handleUpgrade(req, socket, head)) return;
    // Only the console's WebSocket exists in production; dev keeps Next's hot reload.
    if (dev) void handleNextUpgrade(req, socket, head);
    else refuseUpgrade(socket, 404, 'no WebSocket here');
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  log.info({ url, accelerator: config.accelerator, database: runtime.database.engine, replica: config.replicaId }, 'Floe is listening');
  console.log(`Floe is ready at ${url}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'Floe is stopping (desktops keep running)');
    stopReconciling();
    // A VM start under way finishes first (its record written), so no QEMU is left that nothing finds.
    await runtime.hypervisor.startsSettled?.(10_000);
    await stopReplicaDuties();
    runtime.databaseHealth.stop();
    fileHandles.stop();
    stopSweep();
    stopPruning();
    server.closeAllConnections();
    await relay.close();
    await spiceProxy?.close();
    await new Promise((resolve) => server.close(resolve));
    await runtime.database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, 'Floe could not start');
  console.error(`Floe could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
