/**
 * Types text on a desktop's keyboard through QMP `send-key`, one key (or Shift combination) at
 * a time, as a person at the console would. Tests use it to drive the demo guest's shell
 * without a browser; it covers the characters shell commands need on a US layout.
 */
import type { QemuHypervisor } from './qemu-hypervisor';

const NAMED_KEYS: Record<string, string[]> = {
  ' ': ['spc'],
  '\n': ['ret'],
  '>': ['shift', 'dot'],
  '.': ['dot'],
  '/': ['slash'],
  '-': ['minus'],
  _: ['shift', 'minus'],
  ';': ['semicolon'],
  '=': ['equal'],
  '&': ['shift', '7'],
  '!': ['shift', '1'],
};

/** The qcodes for each character of `text`; throws for a character it has no key for. */
export function keysFor(text: string): string[][] {
  return [...text].map((char) => {
    const key = NAMED_KEYS[char];
    if (key) return key;
    if (/[a-z0-9]/.test(char)) return [char];
    if (/[A-Z]/.test(char)) return ['shift', char.toLowerCase()];
    throw new Error(`no key for ${JSON.stringify(char)}`);
  });
}

/** Types `text` followed by Enter. QEMU holds each key for its default time; 20 ms apart keeps keys in order. */
export async function typeLine(hypervisor: QemuHypervisor, id: string, text: string): Promise<void> {
  for (const keys of keysFor(`${text}\n`)) {
    await hypervisor.sendKeys(id, keys);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
