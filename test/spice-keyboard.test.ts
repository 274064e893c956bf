/**
 * The keyboard map (components/spice/scancodes.ts): physical keys (KeyboardEvent.code) to PC
 * scancodes of set 1, checked against spice-html5's own table of AT key numbers where the two
 * overlap; the packing of scancodes into SPICE key messages; and the US-layout keystrokes that
 * "Send text" types.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCANCODES, keystrokesForText, spiceKeyCode, usKeystroke } from '../components/spice/scancodes';

const { KeyNames } = (await import('@spice-project/spice-html5/src/atKeynames.js')) as { KeyNames: Record<string, number> };

test('letters, digits, punctuation and function keys match the AT numbers spice-html5 knows', () => {
  const pairs: Array<[code: string, atName: string]> = [];
  for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') pairs.push([`Key${letter}`, `KEY_${letter}`]);
  for (const digit of '0123456789') pairs.push([`Digit${digit}`, `KEY_${digit}`]);
  for (let n = 1; n <= 12; n++) pairs.push([`F${n}`, `KEY_F${n}`]);
  pairs.push(
    ['Escape', 'KEY_Escape'],
    ['Minus', 'KEY_Minus'],
    ['Equal', 'KEY_Equal'],
    ['Backspace', 'KEY_BackSpace'],
    ['Tab', 'KEY_Tab'],
    ['BracketLeft', 'KEY_LBrace'],
    ['BracketRight', 'KEY_RBrace'],
    ['Enter', 'KEY_Enter'],
    ['ControlLeft', 'KEY_LCtrl'],
    ['Semicolon', 'KEY_SemiColon'],
    ['Quote', 'KEY_Quote'],
    ['Backquote', 'KEY_Tilde'],
    ['ShiftLeft', 'KEY_ShiftL'],
    ['Backslash', 'KEY_BSlash'],
    ['Comma', 'KEY_Comma'],
    ['Period', 'KEY_Period'],
    ['Slash', 'KEY_Slash'],
    ['ShiftRight', 'KEY_ShiftR'],
    ['AltLeft', 'KEY_Alt'],
    ['Space', 'KEY_Space'],
    ['CapsLock', 'KEY_CapsLock'],
    ['NumLock', 'KEY_NumLock'],
    ['Numpad7', 'KEY_KP_7'],
    ['Numpad0', 'KEY_KP_0'],
    ['NumpadDecimal', 'KEY_KP_Decimal'],
    ['NumpadAdd', 'KEY_KP_Plus'],
    ['NumpadSubtract', 'KEY_KP_Minus'],
    ['IntlBackslash', 'KEY_Less'],
  );
  for (const [code, atName] of pairs) {
    assert.ok(KeyNames[atName] !== undefined, `spice-html5 knows ${atName}`);
    assert.equal(SCANCODES[code], KeyNames[atName], `${code} is ${atName}`);
  }
});

test('extended keys carry the E0 prefix and no two keys share a scancode', () => {
  assert.equal(SCANCODES.ArrowLeft, 0xe04b);
  assert.equal(SCANCODES.ArrowUp, 0xe048);
  assert.equal(SCANCODES.Delete, 0xe053);
  assert.equal(SCANCODES.AltRight, 0xe038);
  assert.equal(SCANCODES.ControlRight, 0xe01d);
  assert.equal(SCANCODES.MetaLeft, 0xe05b);
  assert.equal(SCANCODES.NumpadEnter, 0xe01c);
  const aliases = new Set(['OSLeft', 'OSRight']);
  const seen = new Map<number, string>();
  for (const [code, scancode] of Object.entries(SCANCODES)) {
    if (aliases.has(code)) continue;
    assert.equal(seen.get(scancode), undefined, `${code} and ${seen.get(scancode)} share ${scancode.toString(16)}`);
    seen.set(scancode, code);
  }
});

test('SPICE key codes: the make code, the break code with 0x80, extended keys after E0', () => {
  assert.equal(spiceKeyCode(0x1e, true), 0x1e);
  assert.equal(spiceKeyCode(0x1e, false), 0x9e);
  // spice-server sends the bytes from the lowest: E0 4B, then E0 CB.
  assert.equal(spiceKeyCode(0xe04b, true), 0x4be0);
  assert.equal(spiceKeyCode(0xe04b, false), 0xcbe0);
});

test('text becomes US-layout keystrokes, with Shift for capitals and shifted symbols', () => {
  assert.deepEqual(usKeystroke('a'), { code: 'KeyA', shift: false });
  assert.deepEqual(usKeystroke('Q'), { code: 'KeyQ', shift: true });
  assert.deepEqual(usKeystroke('>'), { code: 'Period', shift: true });
  assert.deepEqual(usKeystroke('|'), { code: 'Backslash', shift: true });
  assert.deepEqual(usKeystroke('_'), { code: 'Minus', shift: true });
  assert.deepEqual(usKeystroke('~'), { code: 'Backquote', shift: true });
  assert.deepEqual(usKeystroke('"'), { code: 'Quote', shift: true });

  const { strokes, skipped } = keystrokesForText('Hi!\r\nü 1\r2\n');
  assert.deepEqual(
    strokes.map((s) => (s.shift ? `Shift+${s.code}` : s.code)),
    ['Shift+KeyH', 'KeyI', 'Shift+Digit1', 'Enter', 'Space', 'Digit1', 'Enter', 'Digit2', 'Enter'],
  );
  assert.deepEqual(skipped, ['ü']);
});
