/**
 * spice-html5's sendCtrlAltDel (patched). Unpatched it read an undeclared global `sc` (a
 * ReferenceError in an ES module), sent the Delete key-up without the 0x80 break bit (a second
 * key-down) and released Ctrl and Alt only if they had been pressed before, so they stayed down
 * in the guest. The test plays the scancodes it sends through a model of the guest's keyboard:
 * Ctrl, Alt and Delete must be down together once, and every key must be up at the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpiceMainConn, SpiceOutgoingMessage } from '@spice-project/spice-html5';
import { installBrowserStubs } from './spice-stubs';

installBrowserStubs();
const { sendCtrlAltDel } = await import('@spice-project/spice-html5/src/inputs.js');
const { Constants } = await import('@spice-project/spice-html5/src/enums.js');

/** The guest's view: which keys are down, from the set-1 scancode bytes SPICE delivers. */
function playScancodes(messages: Array<{ type: number; code: number }>) {
  const down = new Set<number>();
  const chords: number[][] = [];
  for (const { type, code } of messages) {
    assert.ok(type === Constants.SPICE_MSGC_INPUTS_KEY_DOWN || type === Constants.SPICE_MSGC_INPUTS_KEY_UP);
    // spice-server sends the code's bytes from the lowest until a zero byte.
    const bytes: number[] = [];
    for (let c = code; c !== 0; c >>>= 8) bytes.push(c & 0xff);
    const extended = bytes[0] === 0xe0;
    const scan = extended ? bytes[1]! : bytes[0]!;
    const key = (extended ? 0xe000 : 0) | (scan & 0x7f);
    const release = (scan & 0x80) !== 0;
    assert.equal(release, type === Constants.SPICE_MSGC_INPUTS_KEY_UP, `key-up messages carry the break bit (code ${code.toString(16)})`);
    if (release) down.delete(key);
    else down.add(key);
    chords.push([...down].sort());
  }
  return { down, chords };
}

test('Ctrl+Alt+Del presses Ctrl, Alt and Delete together and releases all three', () => {
  const sent: Array<{ type: number; code: number }> = [];
  const inputs = {
    state: 'ready',
    send_msg(message: SpiceOutgoingMessage) {
      const buffer = new ArrayBuffer(message.buffer_size());
      message.to_buffer(buffer);
      const dv = new DataView(buffer);
      sent.push({ type: dv.getUint16(0, true), code: dv.getUint32(6, true) });
    },
    cleanup() {},
  };
  sendCtrlAltDel({ inputs } as unknown as SpiceMainConn);

  const { down, chords } = playScancodes(sent);
  const ctrl = 0x1d;
  const alt = 0x38;
  const del = 0xe053;
  assert.ok(
    chords.some((keys) => [ctrl, alt, del].every((k) => keys.includes(k))),
    `Ctrl, Alt and Delete are down at the same moment (sent ${JSON.stringify(sent)})`,
  );
  assert.deepEqual([...down], [], 'no key is left pressed');
});

test('Ctrl+Alt+Del without a ready inputs channel sends nothing and does not throw', () => {
  assert.doesNotThrow(() => sendCtrlAltDel({ inputs: { state: 'connecting' } } as unknown as SpiceMainConn));
});
