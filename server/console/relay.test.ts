/**
 * Tests of the console relay with real sockets: a real HTTP server on 127.0.0.1 whose upgrades
 * go to the relay, a real TCP server standing in for the desktop's SPICE port, and `ws` clients
 * speaking like spice-html5 (subprotocol `binary`, a `REDQ` link message first). Every test
 * waits on events or conditions, never on fixed sleeps, and closes everything it opened.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { WebSocket, type ClientOptions } from 'ws';
import { waitUntil } from '../../test/wait-until';
import {
  createConsoleRelay,
  parseSpiceLink,
  spiceChannelTypes,
  type ConsoleAdmission,
  type ConsoleRelay,
  type ConsoleRelayOptions,
  type ConsoleSessionSummary,
} from './relay';

const MiB = 1024 * 1024;
/** A test that hangs on an awaited close fails after this instead of stalling the run. */
const TEST_TIMEOUT = { timeout: 10_000 };

// ---------------------------------------------------------------------------------------------
// Helpers

/** A SPICE link message as spice-html5 sends it: header + SpiceLinkMess + one capability word. */
function linkMessage(channelType: number, connectionId = 0, channelId = 0): Buffer {
  const body = Buffer.alloc(22);
  body.writeUInt32LE(connectionId, 0);
  body.writeUInt8(channelType, 4);
  body.writeUInt8(channelId, 5);
  body.writeUInt32LE(1, 6); // num_common_caps
  body.writeUInt32LE(0, 10); // num_channel_caps
  body.writeUInt32LE(18, 14); // caps_offset
  body.writeUInt32LE(0b1101, 18);
  const header = Buffer.alloc(16);
  header.write('REDQ', 0, 'latin1');
  header.writeUInt32LE(2, 4);
  header.writeUInt32LE(2, 8);
  header.writeUInt32LE(body.length, 12);
  return Buffer.concat([header, body]);
}

function sha256(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** How the tests wait for what the relay does in the background: a 5 ms poll, 5 s at most. */
const POLL = { timeoutMs: 5000, intervalMs: 5 };

/** One connection the fake desktop accepted, with everything it received. */
class DesktopConnection {
  readonly chunks: Buffer[] = [];
  receivedBytes = 0;
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.receivedBytes += chunk.length;
    });
    socket.on('error', () => {});
    this.ended = once(socket, 'end').then(() => undefined);
    this.closed = once(socket, 'close').then(() => undefined);
  }
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A TCP server standing in for QEMU's SPICE port. */
class FakeDesktop {
  readonly connections: DesktopConnection[] = [];
  /** What the desktop does with a new connection (default: only record). */
  onConnection: (connection: DesktopConnection) => void = () => {};
  private waiters: ((connection: DesktopConnection) => void)[] = [];
  private constructor(private readonly server: net.Server) {
    server.on('connection', (socket) => {
      const connection = new DesktopConnection(socket);
      this.connections.push(connection);
      this.onConnection(connection);
      for (const waiter of this.waiters.splice(0)) waiter(connection);
    });
  }
  static async start(): Promise<FakeDesktop> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new FakeDesktop(server);
  }
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }
  /** The connection number `index` (0-based), once it has been accepted. */
  async connection(index: number): Promise<DesktopConnection> {
    while (this.connections.length <= index) {
      await new Promise<DesktopConnection>((resolve) => this.waiters.push(resolve));
    }
    return this.connections[index]!;
  }
  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const echo = (connection: DesktopConnection): void => {
  connection.socket.on('data', (chunk: Buffer) => connection.socket.write(chunk));
};

interface RigOptions extends Partial<ConsoleRelayOptions> {
  /** Added to every admission the default resolver grants. */
  admission?: Partial<ConsoleAdmission>;
  /** Desktop port to target instead of the fake desktop's. */
  targetPort?: number;
}

/**
 * The relay behind a real HTTP server, the fake desktop, and a resolver that reads `?ticket=`:
 * no ticket or 'bad' is refused 401, 'throw' throws, anything else is a session of that name.
 */
class Rig {
  readonly summaries: ConsoleSessionSummary[] = [];
  readonly refusals: [number, string][] = [];
  resolveCalls = 0;
  readonly clients: WebSocket[] = [];
  private constructor(
    readonly relay: ConsoleRelay,
    readonly http: http.Server,
    readonly desktop: FakeDesktop,
  ) {}

  static async start(t: TestContext, options: RigOptions = {}): Promise<Rig> {
    const desktop = await FakeDesktop.start();
    let rig: Rig | undefined;
    const relay = createConsoleRelay({
      ...options,
      resolve: async (req) => {
        rig!.resolveCalls += 1;
        const ticket = new URL(req.url ?? '/', 'http://relay.test').searchParams.get('ticket');
        if (ticket === 'throw') throw new Error('database is down');
        if (ticket === null || ticket === 'bad') return { status: 401, reason: 'missing or invalid ticket' };
        return {
          target: { host: '127.0.0.1', port: options.targetPort ?? desktop.port },
          sessionKey: ticket,
          ...options.admission,
        };
      },
      onSessionEnd: (summary) => rig!.summaries.push(summary),
      onRefusal: (status, reason) => rig!.refusals.push([status, reason]),
    });
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, socket, head) => {
      if (!relay.handleUpgrade(req, socket, head)) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    rig = new Rig(relay, server, desktop);
    t.after(() => rig.close());
    return rig;
  }

  url(query: string, path = '/console/ws'): string {
    const { port } = this.http.address() as net.AddressInfo;
    return `ws://127.0.0.1:${port}${path}${query}`;
  }

  /** A WebSocket client like spice-html5's (subprotocol 'binary'); not yet open. */
  client(query: string, options: ClientOptions = {}, path?: string): WebSocket {
    const ws = new WebSocket(this.url(query, path), 'binary', options);
    ws.on('error', () => {});
    this.clients.push(ws);
    return ws;
  }

  async open(query: string, options: ClientOptions = {}): Promise<Client> {
    const ws = this.client(query, options);
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  /** Opens a channel and sends its link message. */
  async openChannel(ticket: string, channelType: number, connectionId = 0): Promise<Client> {
    const client = await this.open(`?ticket=${ticket}`);
    client.ws.send(linkMessage(channelType, connectionId));
    return client;
  }

  /** Expects the upgrade to be answered with a plain HTTP status instead of a WebSocket. */
  async refusal(query: string, options: ClientOptions = {}, path?: string): Promise<{ status: number; body: string }> {
    const ws = this.client(query, options, path);
    const [, res] = (await once(ws, 'unexpected-response')) as [http.ClientRequest, http.IncomingMessage];
    let body = '';
    res.setEncoding('utf8');
    for await (const chunk of res) body += chunk;
    ws.terminate();
    return { status: res.statusCode ?? 0, body };
  }

  session(key: string) {
    return this.relay.activeSessions().find((session) => session.sessionKey === key);
  }

  async close(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    await this.relay.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.desktop.close();
  }
}

/** A client WebSocket with what it received and how it closed. */
class Client {
  readonly messages: Buffer[] = [];
  receivedBytes = 0;
  allBinary = true;
  readonly closed: Promise<{ code: number; reason: string }>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const chunk = data as Buffer;
      this.messages.push(chunk);
      this.receivedBytes += chunk.length;
      if (!isBinary) this.allBinary = false;
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }
  received(): Buffer {
    return Buffer.concat(this.messages);
  }
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
}

/** Resolves once the relay's counter has not moved for `polls` polls in a row. */
async function waitUntilSteady(read: () => number, polls = 8, intervalMs = 15): Promise<number> {
  let last = read();
  let steady = 0;
  const deadline = Date.now() + 5000;
  while (steady < polls) {
    if (Date.now() > deadline) throw new Error('counter never settled');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const now = read();
    steady = now === last ? steady + 1 : 0;
    last = now;
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Link header

test('parseSpiceLink reads connection id, channel type and channel id', TEST_TIMEOUT, () => {
  assert.deepEqual(parseSpiceLink(linkMessage(spiceChannelTypes.display, 0x01020304, 7)), {
    connectionId: 0x01020304,
    channelType: 2,
    channelId: 7,
  });
  assert.equal(parseSpiceLink(linkMessage(1).subarray(0, 21)), undefined);
  const wrongMagic = linkMessage(1);
  wrongMagic.write('REDX', 0, 'latin1');
  assert.equal(parseSpiceLink(wrongMagic), undefined);
  // A view into a larger buffer is read at its own offset.
  const inside = Buffer.concat([Buffer.from('xyz'), linkMessage(3, 9, 1)]).subarray(3);
  assert.deepEqual(parseSpiceLink(inside), { connectionId: 9, channelType: 3, channelId: 1 });
});

// ---------------------------------------------------------------------------------------------
// Relay

test('relays bytes exactly both ways, as binary frames, with subprotocol binary', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t);
  const fromDesktop = randomBytes(4 * MiB);
  rig.desktop.onConnection = (connection) => connection.socket.write(fromDesktop);

  const client = await rig.open('?ticket=one');
  assert.equal(client.ws.protocol, 'binary');
  const link = linkMessage(spiceChannelTypes.main);
  // The link message split in two frames: the relay must wait for its 22 bytes.
  client.ws.send(link.subarray(0, 10));
  client.ws.send(link.subarray(10));
  const toDesktop = randomBytes(4 * MiB + 123);
  for (let offset = 0; offset < toDesktop.length; offset += 61 * 1024) {
    client.ws.send(toDesktop.subarray(offset, offset + 61 * 1024));
  }

  const desktop = await rig.desktop.connection(0);
  await waitUntil('the desktop to receive everything', () => desktop.receivedBytes >= link.length + toDesktop.length, POLL);
  await waitUntil('the browser to receive everything', () => client.receivedBytes >= fromDesktop.length, POLL);
  assert.equal(desktop.receivedBytes, link.length + toDesktop.length);
  assert.equal(sha256(desktop.received()), sha256(link, toDesktop));
  assert.equal(client.receivedBytes, fromDesktop.length);
  assert.equal(sha256(client.received()), sha256(fromDesktop));
  assert.ok(client.allBinary, 'every frame to the browser is binary');

  assert.deepEqual(rig.relay.activeSessions().map((s) => [s.sessionKey, s.channels]), [['one', 1]]);
  client.ws.close();
  await waitUntil('the session summary', () => rig.summaries.length === 1, POLL);
  const [summary] = rig.summaries;
  assert.equal(summary?.sessionKey, 'one');
  assert.equal(summary?.channels, 1);
  assert.equal(summary?.bytesToDesktop, link.length + toDesktop.length);
  assert.equal(summary?.bytesToBrowser, fromDesktop.length);
  assert.equal(summary?.endReason, 'browser closed');
  assert.ok(summary!.endedAt >= summary!.startedAt);
  await desktop.ended;
});

test('a missing or invalid ticket is refused with HTTP 401 before any TCP connection', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t);
  assert.deepEqual(await rig.refusal(''), { status: 401, body: 'missing or invalid ticket' });
  assert.deepEqual(await rig.refusal('?ticket=bad'), { status: 401, body: 'missing or invalid ticket' });
  // A resolver that throws is answered 503 with a generic reason.
  const failed = await rig.refusal('?ticket=throw');
  assert.equal(failed.status, 503);
  assert.doesNotMatch(failed.body, /database/);
  // Another path is not the relay's: handleUpgrade returns false and the caller answers.
  assert.equal((await rig.refusal('?ticket=one', {}, '/elsewhere')).status, 404);
  assert.equal(rig.resolveCalls, 3);
  assert.equal(rig.desktop.connections.length, 0);
  assert.equal(rig.summaries.length, 0);
  assert.deepEqual(rig.refusals, [
    [401, 'missing or invalid ticket'],
    [401, 'missing or invalid ticket'],
    [503, 'console unavailable'],
  ]);
});

test('a refused Origin gets HTTP 403 without resolving or connecting', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t, { isAllowedOrigin: (origin) => origin === 'http://floe.test' });
  assert.deepEqual(await rig.refusal('?ticket=one', { origin: 'http://evil.test' }), {
    status: 403,
    body: 'origin not allowed',
  });
  assert.equal((await rig.refusal('?ticket=one')).status, 403, 'no Origin at all is refused too');
  assert.equal(rig.resolveCalls, 0);
  assert.equal(rig.desktop.connections.length, 0);

  const allowed = await rig.open('?ticket=one', { origin: 'http://floe.test' });
  allowed.ws.send(linkMessage(spiceChannelTypes.main));
  await rig.desktop.connection(0);
});

test('the desktop closing closes the WebSocket; the browser closing ends the TCP connection', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t);

  const first = await rig.openChannel('a', spiceChannelTypes.main);
  const firstDesktop = await rig.desktop.connection(0);
  firstDesktop.socket.end();
  assert.deepEqual(await first.closed, { code: 1000, reason: 'desktop closed' });

  const second = await rig.openChannel('b', spiceChannelTypes.main);
  const secondDesktop = await rig.desktop.connection(1);
  second.ws.close(1000);
  await secondDesktop.ended;

  await waitUntil('both summaries', () => rig.summaries.length === 2, POLL);
  assert.deepEqual(
    rig.summaries.map((s) => [s.sessionKey, s.endReason]).sort(),
    [['a', 'desktop closed'], ['b', 'browser closed']],
  );
});

test('an unreachable desktop closes the WebSocket with 1011', TEST_TIMEOUT, async (t) => {
  const closedServer = net.createServer().listen(0, '127.0.0.1');
  await once(closedServer, 'listening');
  const { port } = closedServer.address() as net.AddressInfo;
  await new Promise<void>((resolve) => closedServer.close(() => resolve()));

  const rig = await Rig.start(t, { targetPort: port });
  const client = await rig.openChannel('a', spiceChannelTypes.main);
  assert.deepEqual(await client.closed, { code: 1011, reason: 'desktop error' });
  await waitUntil('the summary', () => rig.summaries.length === 1, POLL);
  assert.equal(rig.summaries[0]?.endReason, 'desktop error: ECONNREFUSED');
});

test('the main channel closing closes the other channels of its session only', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t);
  rig.desktop.onConnection = echo;

  // Each channel waits for the echo of its link message, so the byte counts are settled.
  const linkLength = linkMessage(1).length;
  const channel = async (ticket: string, type: number, connectionId: number): Promise<Client> => {
    const client = await rig.openChannel(ticket, type, connectionId);
    await waitUntil(`the echo of ${ticket}/${type}`, () => client.receivedBytes === linkLength, POLL);
    return client;
  };
  const aMain = await channel('a', spiceChannelTypes.main, 0);
  const aDisplay = await channel('a', spiceChannelTypes.display, 11);
  const aInputs = await channel('a', spiceChannelTypes.inputs, 11);
  const bMain = await channel('b', spiceChannelTypes.main, 0);
  const bDisplay = await channel('b', spiceChannelTypes.display, 22);
  assert.deepEqual(
    rig.relay.activeSessions().map((s) => [s.sessionKey, s.channels]).sort(),
    [['a', 3], ['b', 2]],
  );

  aMain.ws.close(1000);
  assert.deepEqual(await aDisplay.closed, { code: 1000, reason: 'main channel closed' });
  assert.deepEqual(await aInputs.closed, { code: 1000, reason: 'main channel closed' });
  await waitUntil("session a's summary", () => rig.summaries.length === 1, POLL);

  // Session b is untouched: its channels still relay.
  assert.ok(bMain.isOpen && bDisplay.isOpen);
  const ping = randomBytes(1000);
  bDisplay.ws.send(ping);
  await waitUntil('the echo through session b', () => bDisplay.receivedBytes === linkLength + ping.length, POLL);
  assert.deepEqual(rig.relay.activeSessions().map((s) => [s.sessionKey, s.channels]), [['b', 2]]);

  bMain.ws.close(1000);
  assert.equal((await bDisplay.closed).code, 1000);
  await waitUntil("session b's summary", () => rig.summaries.length === 2, POLL);
  await rig.relay.close();
  assert.equal(rig.summaries.length, 2, 'one summary per session');

  const [a, b] = rig.summaries;
  const brief = (s: ConsoleSessionSummary | undefined) =>
    s && [s.sessionKey, s.channels, s.bytesToDesktop, s.bytesToBrowser, s.endReason];
  assert.deepEqual(brief(a), ['a', 3, 3 * linkLength, 3 * linkLength, 'browser closed']);
  const bBytes = 2 * linkLength + ping.length;
  assert.deepEqual(brief(b), ['b', 2, bBytes, bBytes, 'browser closed']);
});

test('closeSession closes every channel of the session with the given code and reason', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t);
  const main = await rig.openChannel('a', spiceChannelTypes.main);
  const display = await rig.openChannel('a', spiceChannelTypes.display, 5);
  const other = await rig.openChannel('b', spiceChannelTypes.main);
  await rig.desktop.connection(2);

  assert.throws(() => rig.relay.closeSession('a', 'nope', 1006), RangeError);
  rig.relay.closeSession('a', 'taken over', 4001);
  assert.deepEqual(await main.closed, { code: 4001, reason: 'taken over' });
  assert.deepEqual(await display.closed, { code: 4001, reason: 'taken over' });
  await waitUntil('the summary', () => rig.summaries.length === 1, POLL);
  assert.equal(rig.summaries[0]?.endReason, 'closed by server: taken over');
  assert.ok(other.isOpen);

  // The same ticket may start a new session afterwards (the resolver decides).
  const again = await rig.openChannel('a', spiceChannelTypes.main);
  await rig.desktop.connection(3);
  assert.ok(again.isOpen);

  // Shutting down closes the rest with 1001 and refuses new upgrades.
  await rig.relay.close();
  assert.equal((await other.closed).code, 1001);
  assert.equal((await again.closed).code, 1001);
  assert.equal((await rig.refusal('?ticket=c')).status, 503);
});

test('admitChannel refusal closes with 1008 and never connects', TEST_TIMEOUT, async (t) => {
  const seen: unknown[] = [];
  const rig = await Rig.start(t, {
    admission: {
      admitChannel: (link) => {
        seen.push(link);
        return link.channelType === spiceChannelTypes.port ? 'port channels are not supported' : undefined;
      },
    },
  });
  const client = await rig.open('?ticket=a');
  client.ws.send(linkMessage(spiceChannelTypes.port, 77, 3));
  assert.deepEqual(await client.closed, { code: 1008, reason: 'port channels are not supported' });
  assert.deepEqual(seen, [{ connectionId: 77, channelType: 10, channelId: 3 }]);
  assert.deepEqual(rig.refusals, [[1008, 'port channels are not supported']]);
  await waitUntil('the summary', () => rig.summaries.length === 1, POLL);
  assert.equal(rig.summaries[0]?.endReason, 'channel refused: port channels are not supported');

  // Something that is not a SPICE link message is refused the same way (1002).
  const garbage = await rig.open('?ticket=b');
  garbage.ws.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  assert.equal((await garbage.closed).code, 1002);
  assert.equal(rig.desktop.connections.length, 0);

  // An admitted channel connects.
  await rig.openChannel('c', spiceChannelTypes.main);
  await rig.desktop.connection(0);
});

test('maxChannelsPerSession refuses extra channels of a session with 429', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t, { maxChannelsPerSession: 2 });
  const first = await rig.open('?ticket=a');
  await rig.open('?ticket=a');
  assert.deepEqual(await rig.refusal('?ticket=a'), { status: 429, body: 'too many channels for this console session' });
  await rig.open('?ticket=b'); // other sessions are not affected

  first.ws.close();
  await waitUntil('the relay to see the channel close', () => rig.session('a')?.channels === 1, POLL);
  await rig.open('?ticket=a');
  assert.equal(rig.desktop.connections.length, 0);
});

test('a failed WebSocket handshake gives its channel slot back', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t, { maxChannelsPerSession: 1 });
  const { port } = rig.http.address() as net.AddressInfo;
  const raw = net.connect({ host: '127.0.0.1', port });
  raw.write('GET /console/ws?ticket=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  let response = '';
  raw.setEncoding('utf8').on('data', (text: string) => (response += text));
  await once(raw, 'close');
  assert.match(response, /^HTTP\/1.1 400 /); // no Sec-WebSocket-Key: ws refuses the handshake
  await rig.open('?ticket=a');
  assert.equal(rig.resolveCalls, 2);
});

test('a WebSocket that misses a pong is dropped; one that answers stays', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t, { pingIntervalMs: 30 });
  const silent = await rig.open('?ticket=silent', { autoPong: false });
  const lively = await rig.open('?ticket=lively');
  let pings = 0;
  lively.ws.on('ping', () => (pings += 1));

  assert.equal((await silent.closed).code, 1006);
  await waitUntil('the summary', () => rig.summaries.length === 1, POLL);
  assert.deepEqual([rig.summaries[0]?.sessionKey, rig.summaries[0]?.endReason], ['silent', 'ping timeout']);
  await waitUntil('four pings', () => pings >= 4, POLL);
  assert.ok(lively.isOpen);
});

test('a slow browser pauses the desktop connection instead of buffering without bound', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t);
  const total = 50 * MiB;
  const payload = randomBytes(total);
  let written = 0;
  rig.desktop.onConnection = ({ socket }) => {
    const writeMore = (): void => {
      while (written < total) {
        const chunk = payload.subarray(written, written + 64 * 1024);
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', writeMore);
          return;
        }
      }
    };
    writeMore();
  };

  const client = await rig.openChannel('a', spiceChannelTypes.main);
  client.ws.pause(); // the browser stops reading
  await rig.desktop.connection(0);
  const relayed = await waitUntilSteady(() => rig.session('a')?.bytesToBrowser ?? 0);
  // Kernel socket buffers hold a few MiB on each side; the relay itself at most ~1 MiB.
  assert.ok(relayed < 20 * MiB, `the relay read ${relayed} bytes for a browser that reads nothing`);
  assert.ok(written < total, 'the desktop is held back');

  client.ws.resume();
  await waitUntil('the browser to receive everything', () => client.receivedBytes >= total, { ...POLL, timeoutMs: 10_000 });
  assert.equal(client.receivedBytes, total);
  assert.equal(sha256(client.received()), sha256(payload));
});

test('a slow desktop pauses the WebSocket instead of buffering without bound', TEST_TIMEOUT, async (t) => {
  const rig = await Rig.start(t);
  rig.desktop.onConnection = ({ socket }) => socket.pause(); // the desktop stops reading
  const total = 32 * MiB;
  const payload = randomBytes(total);
  const link = linkMessage(spiceChannelTypes.main);

  const client = await rig.openChannel('a', spiceChannelTypes.main);
  for (let offset = 0; offset < total; offset += 64 * 1024) client.ws.send(payload.subarray(offset, offset + 64 * 1024));
  const desktop = await rig.desktop.connection(0);
  const relayed = await waitUntilSteady(() => rig.session('a')?.bytesToDesktop ?? 0);
  assert.ok(relayed < 20 * MiB, `the relay took ${relayed} bytes for a desktop that reads nothing`);

  desktop.socket.resume();
  await waitUntil('the desktop to receive everything', () => desktop.receivedBytes >= link.length + total, { ...POLL, timeoutMs: 10_000 });
  assert.equal(sha256(desktop.received()), sha256(link, payload));
});

test('a refused channel claiming to be main does not end the live session it tried to join', TEST_TIMEOUT, async (t) => {
  let mainOpen = false;
  const rig = await Rig.start(t, {
    admission: {
      admitChannel: (link) => {
        if (link.channelType !== spiceChannelTypes.main) return undefined;
        if (mainOpen) return 'console ticket already used';
        mainOpen = true;
        return undefined;
      },
    },
  });
  rig.desktop.onConnection = echo;
  const main = await rig.openChannel('a', spiceChannelTypes.main);
  await rig.desktop.connection(0);
  const replay = await rig.openChannel('a', spiceChannelTypes.main);
  assert.deepEqual(await replay.closed, { code: 1008, reason: 'console ticket already used' });
  const display = await rig.openChannel('a', spiceChannelTypes.display);
  await rig.desktop.connection(1);
  assert.ok(main.isOpen && display.isOpen, 'the live console keeps running');
  assert.equal(rig.session('a')?.channels, 2);
  main.ws.close();
  assert.equal((await display.closed).code, 1000, 'its own main channel closing still ends it');
});

test('upgrades being admitted are capped per client address (429)', TEST_TIMEOUT, async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const desktop = await FakeDesktop.start();
  const relay = createConsoleRelay({
    maxPendingUpgradesPerAddress: 2,
    resolve: async () => {
      await held;
      return { target: { host: '127.0.0.1', port: desktop.port }, sessionKey: 'a' };
    },
  });
  const server = http.createServer();
  let upgrades = 0;
  server.on('upgrade', (req, socket, head) => {
    upgrades += 1;
    relay.handleUpgrade(req, socket, head);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    release();
    await relay.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await desktop.close();
  });
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/console/ws`;
  const waiting = [new WebSocket(url, 'binary'), new WebSocket(url, 'binary')];
  for (const ws of waiting) ws.on('error', () => {});
  await waitUntil('both upgrades to be held', () => upgrades === 2, POLL);
  const third = new WebSocket(url, 'binary');
  third.on('error', () => {});
  const [, res] = (await once(third, 'unexpected-response')) as [http.ClientRequest, http.IncomingMessage];
  assert.equal(res.statusCode, 429);
  release();
  await Promise.all(waiting.map((ws) => once(ws, 'open')));
  for (const ws of waiting) ws.terminate();
});
