/**
 * Two portal replicas on one PostgreSQL, as real server processes (production build, port 0)
 * sharing one data folder and so the same QEMU processes (the embedded driver), with real QEMU:
 * - a person signs in on A, is given a desktop and a ticket there, and logs in to the desktop's
 *   real SPICE server through B's WebSocket relay (sent with A's Host and Origin, as a load
 *   balancer in front of both passes them);
 * - A's helpdesk API lists the console B relays; a helpdesk disconnect on A closes it on B;
 * - B, which does not drive the VM, issues a ticket (the SPICE password goes through the VM's
 *   peer QMP socket) and the console runs through A;
 * - one replica holds the reconcile lease (an advisory lock); kill -9 of the holder hands the
 *   lease to the other within 10 s, which adopts the running VMs: the pool never has more
 *   spares than it asks for, before or after.
 * Run by scripts/test.sh in its own stage (not a *.test.ts: the SQLite stage must not run it);
 * it fails at once when FLOE_TEST_DATABASE_URL names no PostgreSQL. Needs `next build` done.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import WebSocket from 'ws';
import { openTestDatabase } from '../server/db/test-database';
import { QemuHypervisor } from '../server/hypervisor/qemu/qemu-hypervisor';
import { SPICE_CHANNEL_MAIN, SPICE_MAGIC, buildLinkMessage, encryptTicket } from '../server/hypervisor/qemu/spice-login';
import { type StartedFloe, qemuProcessesUnder, signInCookie, startFloe, stopFloe } from '../scripts/floe-process';
import { waitUntil } from './wait-until';

const POOL = 'kiosk';
const SPARES = 1;
const HANDOVER_LIMIT_MS = 10_000;

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let dataDir: string;
let replicaA: StartedFloe;
let replicaB: StartedFloe;
const password = randomBytes(12).toString('base64url');
/** The most spares (nobody's desktops, provisioning to ready) seen at once during the test. */
let mostSpares = 0;
let sampler: NodeJS.Timeout | undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How often the test looks at the database and the replicas while it waits. */
const POLL_MS = 100;

async function spares(): Promise<{ id: string; state: string }[]> {
  return database.db
    .selectFrom('desktops')
    .select(['id', 'state'])
    .where('pool_name', '=', POOL)
    .where('user_id', 'is', null)
    .where('state', 'in', ['provisioning', 'booting', 'ready'])
    .execute();
}

/** The spares when the pool has all it asks for and every one is ready; false before. */
async function readySpares(): Promise<{ id: string; state: string }[] | false> {
  const rows = await spares();
  return rows.length === SPARES && rows.every((r) => r.state === 'ready') && rows;
}

/** The replica whose connection holds the reconcile lease (its advisory lock), from PostgreSQL itself. */
async function leaseHolder(): Promise<string | undefined> {
  const { rows } = await sql<{ application_name: string }>`
    select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted and a.application_name like 'floe-reconcile-lease:%'`.execute(database.db);
  assert.ok(rows.length <= 1, `one lease holder at most, got ${rows.map((r) => r.application_name).join(', ')}`);
  return rows[0]?.application_name.replace('floe-reconcile-lease:', '');
}

async function api<T>(floe: StartedFloe, cookie: string, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${floe.url}${route}`, {
    method,
    headers: { cookie, origin: floe.url, 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route} on ${floe.url}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Logs in to SPICE's main channel over a console WebSocket; resolves with the link result (0 = OK). */
function spiceLoginOver(ws: WebSocket, spicePassword: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let stage: 'reply' | 'result' = 'reply';
    ws.on('close', (code, reason) => reject(new Error(`console closed during the SPICE login: ${code} ${reason.toString()}`)));
    ws.on('message', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (stage === 'reply') {
        if (received.length < 16) return;
        assert.equal(received.toString('latin1', 0, 4), SPICE_MAGIC, 'a SPICE server answered through the relay');
        const size = received.readUInt32LE(12);
        if (received.length < 16 + size) return;
        const reply = received.subarray(16, 16 + size);
        received = received.subarray(16 + size);
        assert.equal(reply.readUInt32LE(0), 0, 'SPICE link reply without error');
        const mechanism = Buffer.alloc(4);
        mechanism.writeUInt32LE(1, 0); // SPICE ticket authentication
        stage = 'result';
        ws.send(Buffer.concat([mechanism, encryptTicket(reply.subarray(4, 4 + 162), spicePassword)]));
      }
      if (stage === 'result' && received.length >= 4) resolve(received.readUInt32LE(0));
    });
    ws.send(buildLinkMessage(SPICE_CHANNEL_MAIN));
  });
}

before(async () => {
  database = await openTestDatabase();
  assert.equal(database.engine, 'postgres', 'the two-replica test runs on PostgreSQL only (set FLOE_TEST_DATABASE_URL)');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-replicas-'));
  const poolsFile = path.join(dataDir, 'pools.json');
  // Cold boots only: the test is about replicas, not template snapshots.
  fs.writeFileSync(poolsFile, JSON.stringify({ pools: [{ name: POOL, title: 'Kiosk', kind: 'stateless', template: 'demo', spares: SPARES, maxSize: 3, instant: false }] }));
  const env = { DATABASE_URL: process.env.FLOE_TEST_DATABASE_URL!, FLOE_POOLS_FILE: poolsFile, FLOE_ACCEL: 'tcg', FLOE_LOG_LEVEL: 'warn' };
  sampler = setInterval(() => {
    spares().then((rows) => (mostSpares = Math.max(mostSpares, rows.length)), () => undefined);
  }, 200);
  replicaA = await startFloe(dataDir, password, { env: { ...env, FLOE_REPLICA_ID: 'replica-a' }, timeoutMs: 90_000 });
  replicaB = await startFloe(dataDir, password, { env: { ...env, FLOE_REPLICA_ID: 'replica-b' }, timeoutMs: 90_000 });
});

after(async () => {
  clearInterval(sampler);
  for (const replica of [replicaA, replicaB]) if (replica) await stopFloe(replica);
  if (dataDir) {
    const hypervisor = new QemuHypervisor({ dataDir: path.join(dataDir, 'vms'), accelerator: 'tcg' });
    for (const vm of await hypervisor.list()) await hypervisor.destroy(vm.id);
    hypervisor.close();
    const left = qemuProcessesUnder(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no QEMU process of this test is left');
  }
  await database?.close();
});

test('two replicas on one PostgreSQL: one reconciles, consoles cross replicas, the lease hands over on kill -9', { timeout: 300_000 }, async () => {
  const { value: firstHolder } = await waitUntil('a lease holder', leaseHolder, { timeoutMs: 10_000, intervalMs: POLL_MS });
  assert.equal(firstHolder, 'replica-a', 'the first replica up holds the lease');
  const [spare] = (await waitUntil('the spare to be ready', readySpares, { timeoutMs: 180_000, intervalMs: POLL_MS })).value;

  // Sign in on A; the desktop and the ticket come from A; the console runs through B.
  const alice = await signInCookie(replicaA.url, 'alice', password);
  const { desktop } = await api<{ desktop: { id: string; state: string } }>(replicaA, alice, 'POST', '/api/desktops', { pool: POOL });
  assert.equal(desktop.id, spare!.id, 'the person got the ready spare');
  const ticket = await api<{ path: string; sessionId: string; password: string }>(replicaA, alice, 'POST', `/api/desktops/${desktop.id}/console-ticket`);
  const hostOfA = new URL(replicaA.url).host;
  const ws = new WebSocket(`${replicaB.url.replace('http', 'ws')}${ticket.path}`, 'binary', {
    headers: { cookie: alice, host: hostOfA },
    origin: replicaA.url,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`B refused A's ticket: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; at: number }>((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
  assert.equal(await spiceLoginOver(ws, ticket.password), 0, "the desktop's SPICE server accepted the ticket's password through B");

  // A's helpdesk sees the console B relays, and closes it from A.
  const helen = await signInCookie(replicaA.url, 'helen', password);
  const { value: open } = await waitUntil(
    'A to list the console',
    async () => {
      const listed = await api<{ open: { id: string; relayedBy?: string | null }[] }>(replicaA, helen, 'GET', `/api/helpdesk/desktops/${desktop.id}/consoles`);
      return listed.open.length > 0 && listed.open;
    },
    { timeoutMs: 10_000, intervalMs: POLL_MS },
  );
  assert.deepEqual(open.map((c) => [c.id, c.relayedBy]), [[ticket.sessionId, 'replica-b']]);
  const asked = Date.now();
  await api(replicaA, helen, 'POST', `/api/helpdesk/consoles/${ticket.sessionId}/disconnect`, { reason: 'two-replica test' });
  const end = await Promise.race([closed, sleep(10_000).then(() => undefined)]);
  assert.ok(end, "B closed the console within 10 s of the helpdesk's disconnect on A");
  assert.equal(end.code, 4001, 'closed by Floe on purpose');
  const record = await database.db.selectFrom('console_sessions').selectAll().where('id', '=', ticket.sessionId).executeTakeFirstOrThrow();
  assert.equal(record.end_reason, 'closed-by-staff');
  assert.equal(record.relayed_by, 'replica-b');
  console.log(`# disconnect on A closed B's console in ${end.at - asked} ms`);

  // The other way round: B, which does not drive the VM (A holds its QMP socket), issues the
  // ticket (its SPICE password goes through the VM's peer QMP socket) and A relays.
  const issuing = Date.now();
  const ticketOnB = await api<{ path: string; password: string }>(replicaB, alice, 'POST', `/api/desktops/${desktop.id}/console-ticket`);
  console.log(`# B issued a ticket for a VM A drives in ${Date.now() - issuing} ms`);
  const wsOnA = new WebSocket(`${replicaA.url.replace('http', 'ws')}${ticketOnB.path}`, 'binary', {
    headers: { cookie: alice, host: new URL(replicaB.url).host },
    origin: replicaB.url,
  });
  await new Promise<void>((resolve, reject) => {
    wsOnA.once('open', () => resolve());
    wsOnA.once('unexpected-response', (_req, res) => reject(new Error(`A refused B's ticket: ${res.statusCode}`)));
    wsOnA.once('error', reject);
  });
  assert.equal(await spiceLoginOver(wsOnA, ticketOnB.password), 0, "the password B set opens the desktop's SPICE server through A");
  const closedOnA = new Promise((resolve) => wsOnA.once('close', resolve));
  wsOnA.close();
  await closedOnA;

  // The assigned desktop left the spares: A (the holder) boots exactly one replacement.
  await waitUntil('a replacement spare to be ready', readySpares, { timeoutMs: 180_000, intervalMs: POLL_MS });
  const sparesBefore = (await spares()).map((r) => r.id);

  // kill -9 of the holder: B takes the lease within 10 s and adopts the VMs A started.
  const killed = Date.now();
  await stopFloe(replicaA, 'SIGKILL');
  await waitUntil('replica-b to hold the lease', async () => (await leaseHolder()) === 'replica-b', { timeoutMs: HANDOVER_LIMIT_MS, intervalMs: POLL_MS });
  const { value: row } = await waitUntil(
    'replica-b to report it holds the lease',
    () => database.db.selectFrom('replicas').selectAll().where('id', '=', 'replica-b').where('holds_lease', '=', 1).executeTakeFirst(),
    { timeoutMs: HANDOVER_LIMIT_MS, intervalMs: POLL_MS },
  );
  const handoverMs = Date.now() - killed;
  console.log(`# lease handed over ${handoverMs} ms after kill -9 of its holder`);
  assert.ok(handoverMs <= HANDOVER_LIMIT_MS, `hand-over took ${handoverMs} ms`);

  // Several of B's reconcile passes later the spares are the same ones, not doubled.
  await waitUntil(
    'three more heartbeats of replica-b',
    async () => {
      const now = await database.db.selectFrom('replicas').select('seen_at').where('id', '=', 'replica-b').executeTakeFirstOrThrow();
      return now.seen_at >= row.seen_at + 3000;
    },
    { timeoutMs: 10_000, intervalMs: POLL_MS },
  );
  assert.deepEqual((await spares()).map((r) => r.id), sparesBefore, 'the new holder adopted the spare instead of booting another');
  const mine = await database.db.selectFrom('desktops').select('state').where('id', '=', desktop.id).executeTakeFirstOrThrow();
  assert.equal(mine.state, 'assigned', "the person's desktop is still theirs and running");
  assert.equal(mostSpares, SPARES, `spares seen at once during the test: ${mostSpares}`);
});
