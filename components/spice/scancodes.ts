/**
 * Keys by physical position: `KeyboardEvent.code` (which names the key's place on the keyboard,
 * whatever the layout) to PC scancodes of set 1, the codes a SPICE server expects. Sending the
 * physical key lets the guest's own keyboard layout decide the character, so non-US layouts,
 * AltGr and shifted characters work (Shift is sent because the Shift key itself has a code).
 * spice-html5 instead maps the deprecated `keyCode`, which names the character on the user's
 * layout and has no Shift of its own.
 *
 * Also here: the US-layout keystrokes that type a piece of text ("Send text"), and the way a
 * scancode is packed into a SPICE key message.
 */

/** Scancodes of set 1; extended keys (sent after an 0xE0 prefix) are written 0xE0xx. */
export const SCANCODES: Readonly<Record<string, number>> = {
  Escape: 0x01,
  Digit1: 0x02,
  Digit2: 0x03,
  Digit3: 0x04,
  Digit4: 0x05,
  Digit5: 0x06,
  Digit6: 0x07,
  Digit7: 0x08,
  Digit8: 0x09,
  Digit9: 0x0a,
  Digit0: 0x0b,
  Minus: 0x0c,
  Equal: 0x0d,
  Backspace: 0x0e,
  Tab: 0x0f,
  KeyQ: 0x10,
  KeyW: 0x11,
  KeyE: 0x12,
  KeyR: 0x13,
  KeyT: 0x14,
  KeyY: 0x15,
  KeyU: 0x16,
  KeyI: 0x17,
  KeyO: 0x18,
  KeyP: 0x19,
  BracketLeft: 0x1a,
  BracketRight: 0x1b,
  Enter: 0x1c,
  ControlLeft: 0x1d,
  KeyA: 0x1e,
  KeyS: 0x1f,
  KeyD: 0x20,
  KeyF: 0x21,
  KeyG: 0x22,
  KeyH: 0x23,
  KeyJ: 0x24,
  KeyK: 0x25,
  KeyL: 0x26,
  Semicolon: 0x27,
  Quote: 0x28,
  Backquote: 0x29,
  ShiftLeft: 0x2a,
  Backslash: 0x2b,
  KeyZ: 0x2c,
  KeyX: 0x2d,
  KeyC: 0x2e,
  KeyV: 0x2f,
  KeyB: 0x30,
  KeyN: 0x31,
  KeyM: 0x32,
  Comma: 0x33,
  Period: 0x34,
  Slash: 0x35,
  ShiftRight: 0x36,
  NumpadMultiply: 0x37,
  AltLeft: 0x38,
  Space: 0x39,
  CapsLock: 0x3a,
  F1: 0x3b,
  F2: 0x3c,
  F3: 0x3d,
  F4: 0x3e,
  F5: 0x3f,
  F6: 0x40,
  F7: 0x41,
  F8: 0x42,
  F9: 0x43,
  F10: 0x44,
  NumLock: 0x45,
  ScrollLock: 0x46,
  Numpad7: 0x47,
  Numpad8: 0x48,
  Numpad9: 0x49,
  NumpadSubtract: 0x4a,
  Numpad4: 0x4b,
  Numpad5: 0x4c,
  Numpad6: 0x4d,
  NumpadAdd: 0x4e,
  Numpad1: 0x4f,
  Numpad2: 0x50,
  Numpad3: 0x51,
  Numpad0: 0x52,
  NumpadDecimal: 0x53,
  IntlBackslash: 0x56,
  F11: 0x57,
  F12: 0x58,
  NumpadEqual: 0x59,
  F13: 0x64,
  F14: 0x65,
  F15: 0x66,
  F16: 0x67,
  F17: 0x68,
  F18: 0x69,
  F19: 0x6a,
  F20: 0x6b,
  F21: 0x6c,
  F22: 0x6d,
  F23: 0x6e,
  KanaMode: 0x70,
  IntlRo: 0x73,
  F24: 0x76,
  Convert: 0x79,
  NonConvert: 0x7b,
  IntlYen: 0x7d,
  NumpadComma: 0x7e,
  Lang2: 0xf1,
  Lang1: 0xf2,
  MediaTrackPrevious: 0xe010,
  MediaTrackNext: 0xe019,
  NumpadEnter: 0xe01c,
  ControlRight: 0xe01d,
  AudioVolumeMute: 0xe020,
  LaunchApp2: 0xe021,
  MediaPlayPause: 0xe022,
  MediaStop: 0xe024,
  AudioVolumeDown: 0xe02e,
  AudioVolumeUp: 0xe030,
  BrowserHome: 0xe032,
  NumpadDivide: 0xe035,
  PrintScreen: 0xe037,
  AltRight: 0xe038,
  Home: 0xe047,
  ArrowUp: 0xe048,
  PageUp: 0xe049,
  ArrowLeft: 0xe04b,
  ArrowRight: 0xe04d,
  End: 0xe04f,
  ArrowDown: 0xe050,
  PageDown: 0xe051,
  Insert: 0xe052,
  Delete: 0xe053,
  MetaLeft: 0xe05b,
  MetaRight: 0xe05c,
  ContextMenu: 0xe05d,
  Power: 0xe05e,
  Sleep: 0xe05f,
  WakeUp: 0xe063,
  BrowserSearch: 0xe065,
  BrowserFavorites: 0xe066,
  BrowserRefresh: 0xe067,
  BrowserStop: 0xe068,
  BrowserForward: 0xe069,
  BrowserBack: 0xe06a,
  LaunchApp1: 0xe06b,
  LaunchMail: 0xe06c,
  MediaSelect: 0xe06d,
  // Names older browsers used for the same keys.
  OSLeft: 0xe05b,
  OSRight: 0xe05c,
};

/** The Pause key has no break code: pressing it sends E1 1D 45 E1 9D C5 at once. */
export const PAUSE_CODE = 'Pause';

/** SPICE inputs-channel message types (client to server). */
export const SPICE_KEY_DOWN = 101;
export const SPICE_KEY_UP = 102;

/**
 * The 32-bit code of a SPICE key message. spice-server hands the code's bytes to the guest
 * from the lowest up to the first zero byte, so E0 4B (Left pressed) is 0x4BE0.
 */
export function spiceKeyCode(scancode: number, down: boolean): number {
  const extended = scancode > 0xff;
  const scan = (scancode & 0xff) | (down ? 0 : 0x80);
  return extended ? 0xe0 | (scan << 8) : scan;
}

/** The two messages (type and code) the Pause key is sent as, both on key-down. */
export const PAUSE_MESSAGES: ReadonlyArray<readonly [type: number, code: number]> = [
  [SPICE_KEY_DOWN, 0x451de1], // E1 1D 45
  [SPICE_KEY_UP, 0xc59de1], // E1 9D C5
];

/** One key press that types a character on a US layout. */
export interface Keystroke {
  code: string;
  shift: boolean;
}

const US_SHIFTED_SYMBOLS: Record<string, string> = {
  '~': 'Backquote',
  '!': 'Digit1',
  '@': 'Digit2',
  '#': 'Digit3',
  $: 'Digit4',
  '%': 'Digit5',
  '^': 'Digit6',
  '&': 'Digit7',
  '*': 'Digit8',
  '(': 'Digit9',
  ')': 'Digit0',
  _: 'Minus',
  '+': 'Equal',
  '{': 'BracketLeft',
  '}': 'BracketRight',
  '|': 'Backslash',
  ':': 'Semicolon',
  '"': 'Quote',
  '<': 'Comma',
  '>': 'Period',
  '?': 'Slash',
};

const US_PLAIN_SYMBOLS: Record<string, string> = {
  '`': 'Backquote',
  '-': 'Minus',
  '=': 'Equal',
  '[': 'BracketLeft',
  ']': 'BracketRight',
  '\\': 'Backslash',
  ';': 'Semicolon',
  "'": 'Quote',
  ',': 'Comma',
  '.': 'Period',
  '/': 'Slash',
  ' ': 'Space',
  '\n': 'Enter',
  '\t': 'Tab',
};

/** The key and Shift state that type `char` on a US keyboard layout, or undefined. */
export function usKeystroke(char: string): Keystroke | undefined {
  if (/^[a-z]$/.test(char)) return { code: `Key${char.toUpperCase()}`, shift: false };
  if (/^[A-Z]$/.test(char)) return { code: `Key${char}`, shift: true };
  if (/^[0-9]$/.test(char)) return { code: `Digit${char}`, shift: false };
  const plain = US_PLAIN_SYMBOLS[char];
  if (plain) return { code: plain, shift: false };
  const shifted = US_SHIFTED_SYMBOLS[char];
  if (shifted) return { code: shifted, shift: true };
  return undefined;
}

/**
 * The keystrokes that type `text` on a guest with a US layout. Line ends (\r\n, \r, \n) are
 * one Enter each. Characters a US keyboard has no key for are left out and listed in `skipped`.
 */
export function keystrokesForText(text: string): { strokes: Keystroke[]; skipped: string[] } {
  const strokes: Keystroke[] = [];
  const skipped: string[] = [];
  const normalized = text.replace(/\r\n?/g, '\n');
  for (const char of normalized) {
    const stroke = usKeystroke(char);
    if (stroke) strokes.push(stroke);
    else skipped.push(char);
  }
  return { strokes, skipped };
}
