/**
 * The clipboard module beside spice-html5 (components/spice/agent-clipboard.ts), driven the
 * way the guest's spice-vdagent drives it: real agent messages (20-byte VDAgentMessage header
 * and body) arrive as SPICE_MSG_MAIN_AGENT_DATA, and what the module sends back is read from
 * the bytes spice-html5 would put on the wire. Checks both directions with UTF-8 text, a
 * message split into chunks, the proof that the guest took an offer, and that other agent
 * messages still reach spice-html5.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AgentConnection, VD_AGENT, installAgentClipboard } from '../components/spice/agent-clipboard';

const AGENT_DATA = 109;

function agentMessage(type: number, bodyBytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(20 + bodyBytes.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, type, true);
  view.setUint32(16, bodyBytes.byteLength, true);
  out.set(bodyBytes, 20);
  return out.buffer;
}
const u32 = (...values: number[]) => {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v, true));
  return out;
};
const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
};

function fakeConnection() {
  const sent: Array<{ type: number; bytes: Uint8Array }> = [];
  const passedOn: number[] = [];
  const connection: AgentConnection = {
    process_channel_message: (msg) => {
      passedOn.push(msg.type);
      return true;
    },
    announce_agent_capabilities: () => assert.fail('the original announcement is replaced'),
    send_agent_message: (type, message) => {
      const buffer = new ArrayBuffer(message.buffer_size() + 3);
      message.to_buffer(buffer, 3);
      sent.push({ type, bytes: new Uint8Array(buffer, 3) });
    },
  };
  return { connection, sent, passedOn };
}

test('capabilities announce clipboard by demand besides spice-html5 own ones', () => {
  const { connection, sent } = fakeConnection();
  installAgentClipboard(connection, () => undefined);
  connection.announce_agent_capabilities(1);
  assert.equal(sent[0]?.type, VD_AGENT.ANNOUNCE_CAPABILITIES);
  const view = new DataView(sent[0]!.bytes.buffer, sent[0]!.bytes.byteOffset);
  assert.equal(view.getUint32(0, true), 1, 'request flag kept');
  const caps = view.getUint32(4, true);
  assert.ok(caps & (1 << VD_AGENT.CAP_CLIPBOARD_BY_DEMAND));
  assert.ok(caps & (1 << 2), 'monitors config stays');
});

test('guest → page: a grab with text is answered by a request, the reply text (UTF-8) reaches the page', () => {
  const { connection, sent, passedOn } = fakeConnection();
  const received: string[] = [];
  installAgentClipboard(connection, (text) => received.push(text));
  connection.process_channel_message({ type: AGENT_DATA, data: agentMessage(VD_AGENT.CLIPBOARD_GRAB, u32(VD_AGENT.CLIPBOARD_UTF8_TEXT, 42)) });
  assert.deepEqual(sent.map((m) => m.type), [VD_AGENT.CLIPBOARD_REQUEST]);
  assert.deepEqual([...sent[0]!.bytes], [...u32(VD_AGENT.CLIPBOARD_UTF8_TEXT)]);
  const text = 'grüße ✓ from the guest';
  connection.process_channel_message({ type: AGENT_DATA, data: agentMessage(VD_AGENT.CLIPBOARD, concat(u32(VD_AGENT.CLIPBOARD_UTF8_TEXT), new TextEncoder().encode(text))) });
  assert.deepEqual(received, [text]);
  assert.deepEqual(passedOn, [], 'clipboard messages are not handed to spice-html5');
});

test('a clipboard message split over several SPICE messages is put back together', () => {
  const { connection } = fakeConnection();
  const received: string[] = [];
  installAgentClipboard(connection, (text) => received.push(text));
  const text = 'x'.repeat(5000) + 'end';
  const whole = new Uint8Array(agentMessage(VD_AGENT.CLIPBOARD, concat(u32(VD_AGENT.CLIPBOARD_UTF8_TEXT), new TextEncoder().encode(text))));
  for (let at = 0; at < whole.byteLength; at += 2048) connection.process_channel_message({ type: AGENT_DATA, data: whole.slice(at, at + 2048).buffer });
  assert.deepEqual(received, [text]);
});

test('page → guest: offering text grabs the clipboard; the guest request is answered with the text', () => {
  const { connection, sent } = fakeConnection();
  const clipboard = installAgentClipboard(connection, () => undefined);
  void clipboard.offerText('from the page – ok');
  assert.equal(sent[0]?.type, VD_AGENT.CLIPBOARD_GRAB);
  assert.deepEqual([...sent[0]!.bytes], [...u32(VD_AGENT.CLIPBOARD_UTF8_TEXT)]);
  assert.equal(sent[1]?.type, VD_AGENT.CLIPBOARD_REQUEST, 'the probe follows the grab');
  connection.process_channel_message({ type: AGENT_DATA, data: agentMessage(VD_AGENT.CLIPBOARD_REQUEST, u32(VD_AGENT.CLIPBOARD_UTF8_TEXT)) });
  assert.equal(sent[2]?.type, VD_AGENT.CLIPBOARD);
  const reply = sent[2]!.bytes;
  assert.equal(new DataView(reply.buffer, reply.byteOffset).getUint32(0, true), VD_AGENT.CLIPBOARD_UTF8_TEXT);
  assert.equal(new TextDecoder().decode(reply.subarray(4)), 'from the page – ok');
});

/** Whether `promise` has settled, and how, after the messages already delivered. */
async function outcome(promise: Promise<boolean>): Promise<boolean | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

test("an offer is taken only when the agent answers the probe after the grab (spice-vdagent's empty CLIPBOARD)", async () => {
  const { connection } = fakeConnection();
  const clipboard = installAgentClipboard(connection, () => assert.fail('an empty answer is no guest text'));
  const taken = clipboard.offerText('paste me');
  assert.equal(await outcome(taken), 'pending', 'nothing answered yet');
  connection.process_channel_message({ type: AGENT_DATA, data: agentMessage(VD_AGENT.CLIPBOARD, u32(VD_AGENT.CLIPBOARD_NONE)) });
  assert.equal(await outcome(taken), true);
});

test('an offer overtaken by a guest grab or a newer offer is not taken', async () => {
  const { connection } = fakeConnection();
  const clipboard = installAgentClipboard(connection, () => undefined);
  const first = clipboard.offerText('first');
  const second = clipboard.offerText('second');
  assert.equal(await outcome(first), false, 'replaced by the newer offer');
  connection.process_channel_message({ type: AGENT_DATA, data: agentMessage(VD_AGENT.CLIPBOARD_GRAB, u32(VD_AGENT.CLIPBOARD_UTF8_TEXT)) });
  assert.equal(await outcome(second), false, 'the guest took its clipboard back');
});

test('other main-channel and agent messages still reach spice-html5', () => {
  const { connection, passedOn } = fakeConnection();
  installAgentClipboard(connection, () => undefined);
  connection.process_channel_message({ type: 103, data: new ArrayBuffer(8) });
  connection.process_channel_message({ type: AGENT_DATA, data: agentMessage(VD_AGENT.ANNOUNCE_CAPABILITIES, u32(0, 0)) });
  assert.deepEqual(passedOn, [103, AGENT_DATA]);
});
