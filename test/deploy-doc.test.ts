/**
 * docs/deploy.md tried as written, where this machine allows it. The nginx site of section 2 is
 * taken out of the document and changed only where the document tells the reader to (the
 * upstream servers' port, the listen ports, server name kept, certificate paths; the `http2`
 * line for nginx older than 1.25.1), put into Debian's own /etc/nginx/nginx.conf in place of
 * sites-enabled, checked with `nginx -t` and run on loopback with a self-signed certificate
 * (openssl) in front of a real Floe (server/main.ts, production build, real QEMU). It proves:
 * plain HTTP is redirected to HTTPS; a page loads over TLS with the HSTS header; the forwarded
 * headers reach Floe (sign-in through nginx sets the `__Secure-` cookie and answers with a
 * callback URL on the proxy's https origin; the console records the client address from
 * X-Forwarded-For); and a console WebSocket opens through nginx to a running desktop and logs in
 * to its SPICE server. The systemd units (section 1's, and section 4's template for replicas)
 * pass `systemd-analyze verify` (when systemd-analyze is installed), and the SQLite backup and
 * restore of section 6 is run as written.
 * Needs Debian's nginx and sqlite3 (scripts/setup.sh installs them) and `npx next build`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, createWebSocketStream } from 'ws';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { trySpiceLogin } from '../server/hypervisor/qemu/spice-login';
import { type StartedFloe, freePort, qemuProcessesUnder, signInCookie, startFloe, stopFloe } from '../scripts/floe-process';
import { adapt, changeAfterBackup, deployDoc, fencedBlock } from './deploy-doc-blocks';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-deploy-doc-'));
const password = 'deploy-doc-test-pw';
const SERVER_NAME = 'desktops.example.org';
/** A client address the test's requests claim, as a browser behind another proxy would. */
const CLAIMED_CLIENT = '203.0.113.7';
let floe: StartedFloe | undefined;
let nginx: ChildProcess | undefined;
let nginxOutput = '';
let tlsPort = 0;
let httpPort = 0;
let ca: Buffer;

/** nginx's version ("1.22.1"), from `nginx -v` (which prints on stderr). */
function nginxVersion(): number[] {
  const text = execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' });
  const version = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(text);
  assert.ok(version, `nginx -v: ${text}`);
  return version.slice(1, 4).map(Number);
}

const origin = () => `https://${SERVER_NAME}:${tlsPort}`;
/** Every name resolves to loopback: the client reaches nginx by the site's name (SNI, Host, Origin). */
const lookup = (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
  options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request to nginx, as a browser on the site's origin sends it. */
function request(method: string, route: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${origin()}${route}`,
      { method, ca, lookup: lookup as never, agent: false, headers: { 'x-forwarded-for': CLAIMED_CLIENT, 'accept-language': 'en', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const cookiesOf = (answer: Answer) => ((answer.headers['set-cookie'] as string[] | undefined) ?? []);
const pairOf = (cookie: string) => cookie.split(';')[0] ?? '';

describe('docs/deploy.md, tried as written', { timeout: 600_000 }, () => {
  before(
    async () => {
      floe = await startFloe(path.join(dir, 'data'), password, { env: { FLOE_HOST: '127.0.0.1', FLOE_TRUSTED_PROXIES: '127.0.0.1' } });
      const floePort = new URL(floe.url).port;
      tlsPort = await freePort();
      httpPort = await freePort();
      // A self-signed certificate for the site's name (certbot's place in the document).
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${SERVER_NAME}`,
        '-addext', `subjectAltName=DNS:${SERVER_NAME}`, '-keyout', path.join(dir, 'privkey.pem'), '-out', path.join(dir, 'fullchain.pem'),
      ], { stdio: 'ignore' });
      ca = fs.readFileSync(path.join(dir, 'fullchain.pem'));

      // The site as the document gives it, changed only where it tells the reader to.
      let site = fencedBlock('nginx', 'upstream floe_portal');
      site = adapt(site, 'server 127.0.0.1:3000;', `server 127.0.0.1:${floePort};`);
      site = adapt(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
      site = adapt(site, /listen 443 ssl( http2)?;/, `listen 127.0.0.1:${tlsPort} ssl$1;`);
      site = adapt(site, `/etc/letsencrypt/live/${SERVER_NAME}/fullchain.pem`, path.join(dir, 'fullchain.pem'));
      site = adapt(site, `/etc/letsencrypt/live/${SERVER_NAME}/privkey.pem`, path.join(dir, 'privkey.pem'));
      const [major = 0, minor = 0, patch = 0] = nginxVersion();
      if (major * 1_000_000 + minor * 1000 + patch < 1_025_001) {
        // What the document says for nginx before 1.25.1 (Debian 12 has 1.22).
        assert.match(deployDoc, /`listen 443 ssl http2;`/, 'the document tells readers of older nginx what to write');
        site = adapt(site, /\n\s*http2 on;/, '');
        site = adapt(site, `listen 127.0.0.1:${tlsPort} ssl;`, `listen 127.0.0.1:${tlsPort} ssl http2;`);
      }
      fs.mkdirSync(path.join(dir, 'sites-enabled'));
      fs.writeFileSync(path.join(dir, 'sites-enabled', 'floe'), site);
      // Debian's nginx.conf, with its own files (pid, logs, sites) moved into the test's folder.
      let main = fs.readFileSync('/etc/nginx/nginx.conf', 'utf8');
      main = adapt(main, 'include /etc/nginx/sites-enabled/*;', `include ${dir}/sites-enabled/*;`);
      main = adapt(main, /pid [^;]+;/, `pid ${dir}/nginx.pid;`);
      main = adapt(main, /access_log [^;]+;/, `access_log ${dir}/access.log;`);
      main = adapt(main, /error_log [^;]+;/, `error_log ${dir}/error.log;`);
      fs.writeFileSync(path.join(dir, 'nginx.conf'), main);
      const conf = path.join(dir, 'nginx.conf');
      const tested = execFileSync('sh', ['-c', `nginx -t -p ${dir} -e ${dir}/error.log -c ${conf} 2>&1`], { encoding: 'utf8' });
      assert.match(tested, /test is successful/, tested);
      nginx = spawn('nginx', ['-p', dir, '-e', `${dir}/error.log`, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
      nginx.stdout?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
      nginx.stderr?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
      for (let i = 0; ; i++) {
        const up = await request('GET', '/login').then(() => true, () => false);
        if (up) break;
        if (i > 50 || nginx.exitCode !== null) assert.fail(`nginx did not answer: ${nginxOutput}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    { timeout: 180_000 },
  );

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    if (floe) await stopFloe(floe);
    // Desktops outlive Floe (KillMode=process in the document): this test's are destroyed here.
    // A spare Floe was starting as it stopped has its record a moment after its process.
    const hypervisor = new QemuHypervisor({ dataDir: path.join(dir, 'data', 'vms'), accelerator: 'tcg' });
    for (let until = Date.now() + 10_000; qemuProcessesUnder(dir).length > 0 && Date.now() < until; ) {
      for (const vm of await hypervisor.list()) await hypervisor.destroy(vm.id);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    hypervisor.close();
    const left = qemuProcessesUnder(dir);
    for (const pid of left) process.kill(pid, 'SIGKILL'); // reported below, but not left running
    fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no QEMU process of this test is left');
  });

  it('redirects HTTP to HTTPS and serves the pages over TLS with HSTS', async () => {
    const plain = await new Promise<{ status: number; location?: string }>((resolve, reject) => {
      import('node:http').then(({ request: httpRequest }) => {
        const req = httpRequest({ host: '127.0.0.1', port: httpPort, path: '/desktops', headers: { host: SERVER_NAME } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        });
        req.on('error', reject);
        req.end();
      }, reject);
    });
    assert.deepEqual(plain, { status: 301, location: `https://${SERVER_NAME}/desktops` });
    const page = await request('GET', '/login');
    assert.equal(page.status, 200);
    assert.match(page.body, /Sign in to Floe/);
    assert.equal(page.headers['strict-transport-security'], 'max-age=31536000');
  });

  it('passes the forwarded headers: sign-in through nginx gets Secure cookies and https callback URLs; the console opens and logs in to SPICE', { timeout: 240_000 }, async () => {
    // Sign-in as a browser on https://desktops.example.org:PORT does it.
    const csrf = await request('GET', '/api/auth/csrf');
    assert.equal(csrf.status, 200);
    const csrfCookies = cookiesOf(csrf);
    assert.ok(csrfCookies.some((c) => c.startsWith('__Host-next-auth.csrf-token=') && /;\s*Secure/i.test(c)), `Floe saw https: ${csrfCookies.join(' | ')}`);
    const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
    const signIn = await request(
      'POST',
      '/api/auth/callback/credentials',
      { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookies.map(pairOf).join('; '), origin: origin() },
      new URLSearchParams({ csrfToken, username: 'alice', password, json: 'true', callbackUrl: `${origin()}/desktops` }).toString(),
    );
    const session = cookiesOf(signIn).find((c) => c.startsWith('__Secure-next-auth.session-token='));
    assert.ok(session && /;\s*Secure/i.test(session), `a Secure session cookie (${signIn.status}): ${cookiesOf(signIn).join(' | ')}`);
    const answeredUrl = (JSON.parse(signIn.body) as { url?: string }).url ?? String(signIn.headers.location);
    assert.ok(answeredUrl.startsWith(`${origin()}/`), `the callback URL is on the proxy's origin: ${answeredUrl}`);
    const cookie = [...csrfCookies, session].map(pairOf).join('; ');

    // A desktop (the demo's fresh pool has a spare), then its console through nginx.
    const opened = await request('POST', '/api/desktops', { 'content-type': 'application/json', cookie, origin: origin() }, JSON.stringify({ pool: 'demo-fresh' }));
    assert.equal(opened.status, 200, opened.body);
    const id = (JSON.parse(opened.body) as { desktop: { id: string } }).desktop.id;
    for (let started = Date.now(); ; ) {
      const state = JSON.parse((await request('GET', `/api/desktops/${id}`, { cookie })).body) as { desktop: { stage: string } };
      if (state.desktop.stage === 'ready') break;
      assert.notEqual(state.desktop.stage, 'failed');
      if (Date.now() - started > 180_000) assert.fail('the desktop did not become ready in 180 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const ticketAnswer = await request('POST', `/api/desktops/${id}/console-ticket`, { cookie, origin: origin() });
    assert.equal(ticketAnswer.status, 200, ticketAnswer.body);
    const ticket = JSON.parse(ticketAnswer.body) as { path: string; password: string; sessionId: string };
    const socket = new WebSocket(`wss://${SERVER_NAME}:${tlsPort}${ticket.path}`, ['binary'], {
      ca,
      lookup: lookup as never,
      origin: origin(),
      headers: { cookie, 'x-forwarded-for': CLAIMED_CLIENT },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    // SPICE itself through nginx: the link and the password. trySpiceLogin hangs up when it is
    // done; its hang-up is held back so that the console stays open to be looked at.
    const stream = createWebSocketStream(socket);
    const keptOpen = new Proxy(stream, {
      get(target, property) {
        if (property === 'destroy') return () => target;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const login = await trySpiceLogin('', 0, ticket.password, { socket: keptOpen as unknown as net.Socket, timeoutMs: 10_000 });
    assert.equal(login, 'ok', 'SPICE accepted the console password through nginx');
    // The console record (begun with the main channel) names the client address nginx forwarded.
    let record: { id: string; clientAddress: string | null } | undefined;
    for (let tries = 0; !record && tries < 50; tries++) {
      const consoles = JSON.parse((await request('GET', `/api/desktops/${id}/consoles`, { cookie })).body) as {
        open?: { id: string; clientAddress: string | null }[];
      };
      record = (consoles.open ?? []).find((c) => c.id === ticket.sessionId);
      if (!record) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(record?.clientAddress, CLAIMED_CLIENT, JSON.stringify(record));
    socket.terminate();
    // nginx logs a request when it ends: the upgraded one when its socket has closed.
    const upgraded = /GET \/console\/ws\?ticket=\S+ HTTP\/1\.1" 101 /;
    for (let tries = 0; tries < 50 && !upgraded.test(fs.readFileSync(path.join(dir, 'access.log'), 'utf8')); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(fs.readFileSync(path.join(dir, 'access.log'), 'utf8'), upgraded, 'nginx relayed the upgrade');
  });

  it('backs up the SQLite database while Floe runs and restores it as section 6 says', { timeout: 120_000 }, async () => {
    if (!floe) throw new Error('Floe is not running');
    const dataDir = path.join(dir, 'data');
    const backupDir = path.join(dir, 'backup');
    fs.mkdirSync(backupDir);
    const admin = await signInCookie(floe.url, 'admin', password);
    // The document's backup commands, with its folders replaced by the test's.
    const backup = adapt(adapt(fencedBlock('sh', '.backup'), '/var/lib/floe', dataDir), '/backup', backupDir);
    execFileSync('sh', ['-e', '-c', backup], { stdio: 'inherit' });
    const copies = fs.readdirSync(backupDir).sort();
    assert.equal(copies.length, 2, `the backup made two files: ${copies.join(', ')}`);
    assert.ok(copies.includes('auth-secret') && copies.some((f) => /^floe-\d{4}-\d{2}-\d{2}\.sqlite$/.test(f)));
    for (const file of copies) assert.equal(fs.statSync(path.join(backupDir, file)).mode & 0o777, 0o600, `${file} is readable by its owner only`);
    // A change after the backup: a new account, which the restore must take away.
    const exists = await changeAfterBackup(floe.url, admin);
    // The document's restore: its `systemctl stop/start floe` are this test stopping and starting
    // Floe; its chown is for a Floe that runs as the floe user (this one runs as root).
    const copy = copies.find((f) => f.endsWith('.sqlite')) ?? '';
    const lines = fencedBlock('sh', 'backup=/backup/').split('\n');
    assert.equal(lines.find((line) => line.startsWith('systemctl')), 'systemctl stop floe', 'the restore stops Floe first');
    assert.equal(lines.filter((line) => line.startsWith('systemctl')).at(-1), 'systemctl start floe', 'and starts it last');
    assert.ok(lines.some((line) => line.startsWith('chown floe:') && line.includes('only with User=floe')));
    let restore = lines.filter((line) => !line.startsWith('systemctl') && !line.startsWith('chown')).join('\n');
    restore = adapt(adapt(restore, '/var/lib/floe', dataDir), '/backup/', `${backupDir}/`);
    restore = adapt(restore, /^backup=\S+/m, `backup=${path.join(backupDir, copy)}`);
    await stopFloe(floe);
    floe = undefined;
    execFileSync('sh', ['-e', '-c', restore], { stdio: 'inherit' });
    floe = await startFloe(dataDir, password, { env: { FLOE_HOST: '127.0.0.1', FLOE_TRUSTED_PROXIES: '127.0.0.1' } });
    assert.equal(await exists(floe.url), 404, 'the account made after the backup is gone');
    const me = await fetch(`${floe.url}/api/me`, { headers: { cookie: admin } });
    assert.equal(me.status, 200, 'a sign-in from before the backup still holds (its record and the key were restored)');
  });

  it('the systemd units (floe.service, and floe@.service for replicas) pass systemd-analyze verify', (t) => {
    const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((file) => fs.existsSync(file));
    if (!analyze) return t.skip('systemd-analyze is not installed here');
    const units = path.join(dir, 'units');
    fs.mkdirSync(units, { recursive: true });
    fs.writeFileSync(path.join(units, 'floe.service'), fencedBlock('ini', 'EnvironmentFile=/etc/floe/floe.env'));
    const template = fencedBlock('ini', 'EnvironmentFile=/etc/floe/floe-%i.env');
    assert.match(template, /^Description=.*%i/m, 'the replica template names its instance');
    fs.writeFileSync(path.join(units, 'floe@.service'), template);
    // An instance name loads the template beside it, with %i filled in.
    for (const unit of ['floe.service', 'floe@1.service']) {
      const out: string = execFileSync('sh', ['-c', `${analyze} verify ${path.join(units, unit)} 2>&1`], { encoding: 'utf8' });
      assert.equal(out.trim(), '', `systemd-analyze verify ${unit} says: ${out}`);
    }
  });
});
