/**
 * The words routes send with their answers (server/words.ts) and the catalogue entries pages say
 * them with (messages/*.json, Api): every code written in the code base has an entry in every
 * catalogue, the broker's and the accounts' errors carry words whose English entry reads exactly
 * as their English message, and their German entry formats with the values they carry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTranslator } from 'next-intl';
import de from '../messages/de.json';
import en from '../messages/en.json';
import { UnknownUserError, UserExistsError } from '../server/accounts/accounts';
import {
  DesktopNotFoundError,
  DesktopNotReadyError,
  PoolDrainingError,
  PoolExhaustedError,
  TooManyTicketsError,
  UnknownPoolError,
} from '../server/broker/errors';
import { wordsOf } from '../server/words';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = {
  en: createTranslator({ locale: 'en', messages: en, namespace: 'Api' }),
  de: createTranslator({ locale: 'de', messages: de, namespace: 'Api' }),
};
type ApiKey = keyof typeof en.Api;

/** The source files that write words: those importing server/words.ts, and the routes. */
function wordingFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.test.ts')) {
        const route = full.startsWith(path.join(root, 'app', 'api'));
        if (route || /from '(?:\.\.?\/)+words'|from '@\/server\/words'/.test(fs.readFileSync(full, 'utf8'))) files.push(full);
      }
    }
  };
  for (const dir of ['server', 'lib', 'app']) walk(path.join(root, dir));
  return files;
}

test('every code the code base writes has an entry in every catalogue', () => {
  const files = wordingFiles();
  assert.ok(files.length >= 8, `found only ${files.length} files writing words`);
  const codes = new Set<string>();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/\bcode: (?:\w+ \? )?'(\w+)'(?: : '(\w+)')?/g)) {
      if (match[1] === 'custom') continue; // a zod refinement's issue code, not words
      codes.add(match[1]!);
      if (match[2]) codes.add(match[2]);
    }
  }
  for (const code of ['poolFull', 'roleChangedOidc', 'fieldRequired', 'poolExists']) assert.ok(codes.has(code), `${code} not found among ${[...codes].join(' ')}`);
  const missing = [...codes].filter((code) => !(code in en.Api) || !(code in de.Api));
  assert.deepEqual(missing, []);
});

test("errors carry words whose English reads as their message, and German formats with their values", () => {
  const errors: Error[] = [
    new PoolExhaustedError('Office', 4),
    new UnknownPoolError('nope'),
    new DesktopNotFoundError(),
    new DesktopNotReadyError('booting'),
    new PoolDrainingError('Office'),
    new TooManyTicketsError(30),
    new UserExistsError('carol'),
    new UnknownUserError('carol'),
  ];
  for (const error of errors) {
    const words = wordsOf(error);
    assert.ok(words, `${error.name} carries no words`);
    const key = words.code as ApiKey;
    assert.equal(say.en(key, words.params as never), error.message, error.name);
    const german = say.de(key, words.params as never);
    assert.notEqual(german, error.message, `${error.name} has no German words`);
    for (const value of Object.values(words.params ?? {})) {
      if (typeof value === 'string' && value !== 'booting') assert.ok(german.includes(value), `${error.name}: "${german}" lost ${value}`);
    }
  }
  assert.equal(say.de('desktopNotReady', { state: 'booting' }), 'Der Desktop ist noch nicht bereit (Zustand: fährt hoch).');
  assert.equal(say.de('disabled', { name: 'carol', sessions: 2 }), 'carol gesperrt; 2 Anmeldesitzungen beendet.');
  assert.equal(say.en('disabled', { name: 'carol', sessions: 0 }), 'Disabled carol.');
  assert.equal(say.de('roleChanged', { name: 'carol', role: 'admin', from: 'user' }), 'carol ist jetzt Administrator (vorher Benutzer).');
});
