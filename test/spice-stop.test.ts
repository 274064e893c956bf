/**
 * Stopping a spice-html5 connection (patched). Unpatched, stop() left the playback channel
 * (stored over the cursor channel, so one of the two leaked) and every port channel open,
 * threw a TypeError when the screen element was no longer in the document, and a channel's
 * late error event still reached onerror (or, for child channels, threw). Child channels
 * never reported a drop at all. Port channels threw a ReferenceError on their first message.
 * These tests drive the real SpiceMainConn over recording stub WebSockets.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { SpiceError, SpiceMainConn as SpiceMainConnType } from '@spice-project/spice-html5';
import { FakeWebSocket, documentElements, fakeElement, installBrowserStubs } from './spice-stubs';

installBrowserStubs();
const { SpiceMainConn } = await import('@spice-project/spice-html5/src/main.js');
const { SpicePortConn } = await import('@spice-project/spice-html5/src/port.js');
const { Constants } = await import('@spice-project/spice-html5/src/enums.js');

const URI = 'ws://floe.test/console/ws?ticket=t';

/** SPICE_MSG_MAIN_CHANNELS_LIST: a count, then (type, id) byte pairs. */
function channelsList(channels: Array<[type: number, id: number]>) {
  const data = new ArrayBuffer(4 + 2 * channels.length);
  const dv = new DataView(data);
  dv.setUint32(0, channels.length, true);
  channels.forEach(([type, id], i) => {
    dv.setUint8(4 + 2 * i, type);
    dv.setUint8(5 + 2 * i, id);
  });
  return { type: Constants.SPICE_MSG_MAIN_CHANNELS_LIST!, data };
}

type Internals = SpiceMainConnType & {
  process_channel_message(message: { type: number; data: ArrayBuffer }): boolean;
  display?: { surfaces?: Record<number, unknown>; primary_surface?: number };
};

function connectWithChannels(errors: Array<SpiceError | Event>) {
  FakeWebSocket.instances = [];
  const connection = new SpiceMainConn({ uri: URI, screen_id: 'screen', password: 'pw', onerror: (e) => errors.push(e) }) as Internals;
  connection.process_channel_message(
    channelsList([
      [Constants.SPICE_CHANNEL_DISPLAY!, 0],
      [Constants.SPICE_CHANNEL_INPUTS!, 0],
      [Constants.SPICE_CHANNEL_CURSOR!, 0],
      [Constants.SPICE_CHANNEL_PLAYBACK!, 0],
      [Constants.SPICE_CHANNEL_PORT!, 0],
      [Constants.SPICE_CHANNEL_PORT!, 1],
    ]),
  );
  return { connection, sockets: [...FakeWebSocket.instances] };
}

beforeEach(() => documentElements.clear());

test('stop() closes the WebSocket of every channel it opened', () => {
  const { connection, sockets } = connectWithChannels([]);
  assert.equal(sockets.length, 7, 'main plus six channels');
  connection.stop();
  const open = sockets.filter((s) => !s.closed).map((s) => FakeWebSocket.instances.indexOf(s));
  assert.deepEqual(open, [], 'no socket is left open');
});

test('stop() removes the screen canvas even when the screen element is detached', () => {
  const { connection } = connectWithChannels([]);
  const screen = fakeElement('screen'); // not in documentElements: detached
  const canvas = Object.assign(fakeElement('spice_surface_0'), { removeEventListener() {} });
  screen.appendChild(canvas);
  connection.display!.surfaces = { 0: { surface_id: 0, canvas } };
  connection.display!.primary_surface = 0;
  assert.doesNotThrow(() => connection.stop());
  assert.equal(screen.children.length, 0, 'the canvas is gone from the screen element');
});

test('after stop(), late error and close events of its sockets are not reported', () => {
  const errors: Array<SpiceError | Event> = [];
  const { connection, sockets } = connectWithChannels(errors);
  connection.stop();
  for (const socket of sockets) {
    assert.doesNotThrow(() => socket.dispatch('error'));
    socket.dispatch('close', { code: 1006, reason: '' });
  }
  assert.deepEqual(errors, []);
});

test('a child channel that drops is reported to onerror with its name and close code', (t) => {
  t.mock.method(console, 'log', () => {}); // spice-html5 logs the drop
  const errors: Array<SpiceError | Event> = [];
  const { connection, sockets } = connectWithChannels(errors);
  (connection as unknown as { display: { state: string } }).display.state = 'ready';
  const display = sockets[1]!;
  display.dispatch('close', { code: 4001, reason: 'taken over' });
  assert.equal(errors.length, 1);
  const error = errors[0] as SpiceError;
  assert.equal(error.channel, 'display');
  assert.equal(error.message, 'Unexpected close while ready');
  assert.equal(error.closeCode, 4001);
  assert.equal(error.closeReason, 'taken over');
  connection.stop();
});

test('a port channel reads its init message without throwing', () => {
  const port = new SpicePortConn({ uri: URI, parent: { password: 'pw' }, type: Constants.SPICE_CHANNEL_PORT!, chan_id: 0 });
  const name = new TextEncoder().encode('org.floe.test\0');
  const data = new ArrayBuffer(9 + name.length);
  const dv = new DataView(data);
  dv.setUint32(0, name.length, true);
  dv.setUint32(4, 9, true);
  dv.setUint8(8, 1);
  new Uint8Array(data, 9).set(name);
  assert.equal(port.process_channel_message({ type: Constants.SPICE_MSG_PORT_INIT!, data }), true);
  assert.equal(port.portName, 'org.floe.test');
  port.cleanup();
});
