/**
 * ConsoleConnection (components/spice/console-connection.ts): the console's connect, drop and
 * reconnect cycle and its keyboard, against a fake spice-html5 and a scripted fetch. Checks
 * that each connection uses a fresh ticket, that a drop fully stops the old connection and
 * clears the screen before the next one, that the waits grow and stop growing, that late
 * callbacks of old connections are ignored, and that retrying ends for good when the sign-in
 * ended or the desktop is gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpiceMainConnOptions, SpiceOutgoingMessage } from '@spice-project/spice-html5';
import { type AgentConnection, VD_AGENT } from '../components/spice/agent-clipboard';
import { ConsoleConnection, type ConsoleStatus, type SpiceModule } from '../components/spice/console-connection';
import type { DesktopView } from '../lib/desktops';
import { waitUntil } from './wait-until';

class FakeSpiceMainConn {
  static instances: FakeSpiceMainConn[] = [];
  stopped = false;
  agent_connected = false;
  readonly resizes: number[][] = [];
  readonly sent: Array<{ type: number; code: number }> = [];
  inputs = {
    state: 'ready',
    send_msg: (message: SpiceOutgoingMessage) => {
      const buffer = new ArrayBuffer(message.buffer_size());
      message.to_buffer(buffer);
      const dv = new DataView(buffer);
      this.sent.push({ type: dv.getUint16(0, true), code: dv.getUint32(6, true) });
    },
    cleanup() {},
  };
  constructor(readonly options: SpiceMainConnOptions) {
    FakeSpiceMainConn.instances.push(this);
  }
  stop() {
    this.stopped = true;
  }
  resize_window(...args: number[]) {
    this.resizes.push(args);
  }
  // What the agent clipboard module (components/spice/agent-clipboard.ts) wraps, as spice-html5 has them.
  readonly agentMessages: number[] = [];
  process_channel_message(): boolean {
    return false;
  }
  announce_agent_capabilities(): void {}
  send_agent_message(type: number) {
    this.agentMessages.push(type);
  }
}

const fakeSpice = { SpiceMainConn: FakeSpiceMainConn, sendCtrlAltDel: () => {} } as unknown as SpiceModule;

function desktopView(stage: DesktopView['stage']): DesktopView {
  return { id: 'd1', pool: 'demo', state: 'assigned', stage, failureReason: null, accelerator: 'tcg', createdAt: 0, bootedAt: 0, unreachable: false };
}

interface Script {
  desktop: () => { status: number; body: unknown };
  ticket: () => { status: number; body: unknown };
  consoles: () => { status: number; body: unknown };
  session: () => { status: number; body: unknown };
}

function setup(script: Partial<Script> = {}, options: { retryDelaysMs?: number[]; stableAfterMs?: number } = {}) {
  FakeSpiceMainConn.instances = [];
  let tickets = 0;
  const calls: string[] = [];
  const full: Script = {
    desktop: () => ({ status: 200, body: { desktop: desktopView('ready') } }),
    ticket: () => ({ status: 200, body: { path: `/console/ws?ticket=T${++tickets}`, password: `P${tickets}` } }),
    consoles: () => ({ status: 200, body: { open: [] } }),
    session: () => ({ status: 200, body: { session: { endedAt: null, endReason: null, takenOverBy: null } } }),
    ...script,
  };
  const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    calls.push(`${method} ${url}`);
    const answer = url.endsWith('/console-ticket')
      ? full.ticket()
      : url.endsWith('/consoles')
        ? full.consoles()
        : url.includes('/consoles/')
          ? full.session()
          : full.desktop();
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  let cleared = 0;
  const screen = {
    id: 'spice-screen',
    querySelector: () => null,
    replaceChildren: () => void cleared++,
    style: { removeProperty: () => '' },
  } as unknown as HTMLElement;
  const statuses: ConsoleStatus[] = [];
  const desktops: DesktopView[] = [];
  const agent: boolean[] = [];
  const connection = new ConsoleConnection({
    desktopId: 'd1',
    screen,
    loadSpice: async () => fakeSpice,
    onStatus: (s) => statuses.push(s),
    onDesktop: (d) => desktops.push(d),
    onAgent: (present) => agent.push(present),
    location: { protocol: 'http:', host: 'floe.test' },
    fetch: fetchStub,
    retryDelaysMs: options.retryDelaysMs ?? [10, 20, 40],
    stableAfterMs: options.stableAfterMs ?? 60_000,
    typingDelayMs: 0,
  });
  return { connection, statuses, desktops, agent, calls, screenClears: () => cleared };
}

/** How the tests wait for the connection's background steps: a 2 ms poll, 2 s at most. */
const SOON = { timeoutMs: 2000, intervalMs: 2 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('connects with a fresh ticket to the relay on the page host, and reports success', async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const options = FakeSpiceMainConn.instances[0]!.options;
  assert.equal(options.uri, 'ws://floe.test/console/ws?ticket=T1');
  assert.equal(options.password, 'P1');
  assert.equal(options.screen_id, 'spice-screen');
  assert.deepEqual(t.calls, ['GET /api/desktops/d1/consoles', 'POST /api/desktops/d1/console-ticket']);
  options.onsuccess!('Connected');
  assert.deepEqual(t.statuses.map((s) => s.state), ['connecting', 'connected']);
  t.connection.stop();
});

test('a drop stops the old connection, clears the screen and reconnects with a new ticket', async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('the first connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const first = FakeSpiceMainConn.instances[0]!;
  first.options.onsuccess!('Connected');
  const clearsBefore = t.screenClears();

  first.options.onerror!(new Error('Unexpected close while ready'));
  assert.equal(first.stopped, true, 'the old connection is stopped at once');
  assert.ok(t.screenClears() > clearsBefore, 'the screen element is cleared');
  assert.deepEqual(t.statuses.at(-1), { state: 'reconnecting', attempt: 1, retryInMs: 10, reason: 'Unexpected close while ready' });

  await waitUntil('the second connection', () => FakeSpiceMainConn.instances.length === 2, SOON);
  const second = FakeSpiceMainConn.instances[1]!;
  assert.equal(second.options.uri, 'ws://floe.test/console/ws?ticket=T2');
  assert.deepEqual(t.calls.slice(2), ['GET /api/desktops/d1', 'POST /api/desktops/d1/console-ticket']);
  assert.equal(t.desktops.length, 1, 'the page hears the desktop state looked up before the retry');

  // The old connection's late callbacks change nothing.
  const seen = t.statuses.length;
  first.options.onerror!(new Error('late'));
  first.options.onsuccess!('late');
  assert.equal(t.statuses.length, seen);
  assert.equal(second.stopped, false);

  second.options.onsuccess!('Connected');
  assert.equal(t.statuses.at(-1)?.state, 'connected');
  t.connection.stop();
  assert.equal(second.stopped, true);
});

test('the waits between tries grow, then stay at the longest', async () => {
  const t = setup({ ticket: () => ({ status: 503, body: { error: 'Try again later.' } }) });
  t.connection.start();
  await waitUntil('five retries', () => t.statuses.filter((s) => s.state === 'reconnecting').length >= 5, SOON);
  t.connection.stop();
  const waits = t.statuses.flatMap((s) => (s.state === 'reconnecting' ? [s.retryInMs] : []));
  assert.deepEqual(waits.slice(0, 5), [10, 20, 40, 40, 40]);
  const last = t.statuses.at(-1);
  assert.equal(last?.state === 'reconnecting' && last.reason, 'Try again later.');
  assert.equal(FakeSpiceMainConn.instances.length, 0);
});

test('a connection that stayed up long enough starts the waits from the first again', async () => {
  const t = setup({}, { stableAfterMs: 0 });
  t.connection.start();
  for (let n = 1; n <= 3; n++) {
    await waitUntil(`connection ${n}`, () => FakeSpiceMainConn.instances.length === n, SOON);
    const connection = FakeSpiceMainConn.instances[n - 1]!;
    connection.options.onsuccess!('Connected');
    connection.options.onerror!(new Error('dropped'));
    const status = t.statuses.at(-1);
    assert.equal(status?.state === 'reconnecting' && status.retryInMs, 10);
  }
  t.connection.stop();
});

test('an ended sign-in stops the retries with the signed-out state', async () => {
  let signedIn = true;
  const t = setup({
    desktop: () => (signedIn ? { status: 200, body: { desktop: desktopView('ready') } } : { status: 401, body: { error: 'Please sign in.' } }),
    ticket: () => (signedIn ? { status: 200, body: { path: '/console/ws?ticket=T', password: 'P' } } : { status: 401, body: { error: 'Please sign in.' } }),
  });
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  signedIn = false;
  FakeSpiceMainConn.instances[0]!.options.onerror!(new Error('Unexpected close while ready'));
  await waitUntil('the signed-out state', () => t.statuses.at(-1)?.state === 'signed-out', SOON);
  const calls = t.calls.length;
  await sleep(80);
  assert.equal(t.calls.length, calls, 'no more requests');
  assert.equal(FakeSpiceMainConn.instances.length, 1);
});

test('a stopped or failed desktop stops the retries without asking for a ticket', async () => {
  for (const stage of ['stopped', 'failed'] as const) {
    let stageNow: DesktopView['stage'] = 'ready';
    const t = setup({ desktop: () => ({ status: 200, body: { desktop: desktopView(stageNow) } }) });
    t.connection.start();
    await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
    stageNow = stage;
    FakeSpiceMainConn.instances[0]!.options.onerror!(new Error('Unexpected close while ready'));
    await waitUntil('the desktop-gone state', () => t.statuses.at(-1)?.state === 'desktop-gone', SOON);
    const last = t.statuses.at(-1);
    assert.equal(last?.state === 'desktop-gone' && last.reason, stage, 'the status says why');
    assert.equal(t.desktops.at(-1)?.stage, stage, 'the page is told the new stage');
    assert.deepEqual(t.calls.filter((c) => c.startsWith('POST')).length, 1, 'no second ticket');
    await sleep(50);
    assert.equal(FakeSpiceMainConn.instances.length, 1);
  }
});

test('a desktop that no longer exists (404) ends the console with a code the page puts in words', async () => {
  const t = setup({ ticket: () => ({ status: 404, body: { error: 'This desktop does not exist or is not yours.' } }) });
  t.connection.start();
  await waitUntil('the desktop-gone state', () => t.statuses.at(-1)?.state === 'desktop-gone', SOON);
  assert.deepEqual(t.statuses.at(-1), { state: 'desktop-gone', reason: 'missing', detail: null });
});

test('Disconnect stops the console and it does not come back by itself', async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const first = FakeSpiceMainConn.instances[0]!;
  first.options.onsuccess!('Connected');
  t.connection.disconnect();
  assert.equal(first.stopped, true);
  first.options.onerror!(new Error('closed'));
  await sleep(50);
  assert.equal(t.statuses.at(-1)?.state, 'disconnected');
  assert.equal(FakeSpiceMainConn.instances.length, 1);

  t.connection.reconnect();
  await waitUntil('a new connection after Reconnect', () => FakeSpiceMainConn.instances.length === 2, SOON);
  t.connection.stop();
});

test('keys go by physical position; releasing everything lifts keys still held', async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const sent = FakeSpiceMainConn.instances[0]!.sent;
  const key = (type: 'keydown' | 'keyup', code: string, k = '') => t.connection.handleKeyEvent({ type, code, key: k, isComposing: false });

  // A German layout: the key right of T is reported as "z", but it is the Y position.
  assert.equal(key('keydown', 'KeyY', 'z'), true);
  assert.equal(key('keyup', 'KeyY', 'z'), true);
  assert.equal(key('keydown', 'ArrowLeft'), true);
  assert.equal(key('keyup', 'ArrowLeft'), true);
  assert.equal(key('keydown', 'ShiftLeft', 'Shift'), true);
  assert.equal(key('keydown', 'Digit7', '/'), true);
  t.connection.releaseAllKeys();
  assert.deepEqual(
    sent.map((m) => `${m.type === 101 ? 'down' : 'up'} ${m.code.toString(16)}`),
    ['down 15', 'up 95', 'down 4be0', 'up cbe0', 'down 2a', 'down 8', 'up aa', 'up 88'],
  );

  // No code (an on-screen keyboard): typed by its character. Unknown keys are not handled.
  sent.length = 0;
  assert.equal(key('keydown', '', 'A'), true);
  assert.deepEqual(sent.map((m) => m.code.toString(16)), ['2a', '1e', '9e', 'aa']);
  assert.equal(key('keydown', '', 'é'), false);
  assert.equal(key('keydown', 'Unidentified', 'Dead'), false);
  t.connection.stop();
});

test('typed text arrives as keystrokes, and characters a US keyboard lacks are reported', async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const sent = FakeSpiceMainConn.instances[0]!.sent;
  const result = await t.connection.typeText('Hé!\nAB');
  assert.deepEqual(result, { typed: 5, total: 5, skipped: ['é'] });
  // Shift stays down over "H!" and over "AB".
  assert.deepEqual(
    sent.map((m) => m.code.toString(16)),
    ['2a', '23', 'a3', '2', '82', 'aa', '1c', '9c', '2a', '1e', '9e', '30', 'b0', 'aa'],
  );
  t.connection.stop();
});

test('with the guest agent there, the desktop can be resized to the window (multiples of 8)', async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const spice = FakeSpiceMainConn.instances[0]!;
  assert.equal(t.connection.resizeDesktop(1280, 720), false, 'no agent, no resize');
  spice.agent_connected = true;
  spice.options.onagent!(spice as never);
  assert.deepEqual(t.agent, [true]);
  assert.equal(t.connection.resizeDesktop(1283, 767), true);
  assert.deepEqual(spice.resizes, [[0, 1280, 760, 32, 0, 0]]);
  spice.options.onerror!(new Error('dropped'));
  assert.deepEqual(t.agent, [true, false], 'the page hears that the agent went with the connection');
  t.connection.stop();
});

test("a paste offer resolves when the guest's agent holds the page's clipboard, and false without an answer", async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const spice = FakeSpiceMainConn.instances[0]!;
  assert.equal(await t.connection.offerClipboardText('text', 1000), false, 'no agent, no offer');
  assert.deepEqual(spice.agentMessages, []);
  spice.agent_connected = true;
  // The agent answers the probe after the grab with an empty CLIPBOARD (type NONE).
  const taken = t.connection.offerClipboardText('text', 10_000);
  assert.deepEqual(spice.agentMessages, [VD_AGENT.CLIPBOARD_GRAB, VD_AGENT.CLIPBOARD_REQUEST]);
  const none = new Uint8Array(24);
  new DataView(none.buffer).setUint32(4, VD_AGENT.CLIPBOARD, true);
  new DataView(none.buffer).setUint32(16, 4, true);
  (spice as unknown as AgentConnection).process_channel_message({ type: 109, data: none.buffer });
  assert.equal(await taken, true);
  // No answer: false once the wait is over.
  const started = Date.now();
  assert.equal(await t.connection.offerClipboardText('more', 50), false);
  assert.ok(Date.now() - started >= 45, 'it waited for the answer first');
  t.connection.stop();
});

test('"connected" waits until the inputs channel is ready, so that no key is lost', async () => {
  const t = setup();
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  const spice = FakeSpiceMainConn.instances[0]!;
  spice.inputs.state = 'ticket';
  spice.options.onsuccess!('Connected');
  await sleep(60);
  assert.equal(t.statuses.at(-1)?.state, 'connecting');
  spice.inputs.state = 'ready';
  await waitUntil('the connected state', () => t.statuses.at(-1)?.state === 'connected', SOON);
  t.connection.stop();
});

test('a console open elsewhere is asked about first; continuing connects', async () => {
  const t = setup({
    consoles: () => ({ status: 200, body: { open: [{ id: 'S9', startedAt: 1000, clientAddress: '10.0.0.5', userAgent: 'X' }] } }),
  });
  t.connection.start();
  await waitUntil('the in-use question', () => t.statuses.some((s) => s.state === 'in-use'), SOON);
  assert.deepEqual(t.statuses.at(-1), { state: 'in-use', since: 1000, clientAddress: '10.0.0.5', userAgent: 'X' });
  assert.equal(FakeSpiceMainConn.instances.length, 0, 'nothing is connected before the person answers');
  t.connection.continueHere();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
});

test('a console taken over is not reconnected by itself; the records say by whom', async () => {
  const t = setup({
    ticket: () => ({ status: 200, body: { path: '/console/ws?ticket=T', password: 'P', sessionId: 'S1' } }),
    session: () => ({ status: 200, body: { session: { endedAt: 5000, endReason: 'taken-over', takenOverBy: 'Helpdesk (Helen Okafor)' } } }),
  });
  t.connection.start();
  await waitUntil('a connection', () => FakeSpiceMainConn.instances.length === 1, SOON);
  FakeSpiceMainConn.instances[0]!.options.onerror?.(new Error('closed'));
  await waitUntil('the taken-over state', () => t.statuses.some((s) => s.state === 'taken-over'), SOON);
  assert.deepEqual(t.statuses.at(-1), { state: 'taken-over', by: 'Helpdesk (Helen Okafor)', at: 5000 });
  assert.ok(t.calls.includes('GET /api/desktops/d1/consoles/S1'));
  assert.equal(t.calls.filter((c) => c.startsWith('POST')).length, 1, 'no new ticket');
});
