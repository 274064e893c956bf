/**
 * The language settings and catalogues (i18n/locales.ts, messages/*.json). The page language
 * comes from the browser's Accept-Language header: the first language by q value that Floe
 * speaks, region subtags ignored, q=0 meaning "not this one". Every catalogue has exactly the
 * keys of the English one, no empty message, the same {placeholders} and <tags> (so German
 * never loses a name or a link), and every message is valid ICU that formats.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type MessageFormatElement, TYPE, isPluralElement, isSelectElement, isTagElement, parse } from '@formatjs/icu-messageformat-parser';
import { createTranslator } from 'next-intl';
import { LOCALES, localeFromAcceptLanguage } from '../i18n/locales';

const messagesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'messages');
type Catalogue = { [key: string]: string | Catalogue };
const catalogue = (locale: string) => JSON.parse(fs.readFileSync(path.join(messagesDir, `${locale}.json`), 'utf8')) as Catalogue;

/** Every message of a catalogue by its dotted key. */
function flatten(messages: Catalogue, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') out.set(name, value);
    else for (const [k, v] of flatten(value, name)) out.set(k, v);
  }
  return out;
}

/** The argument names and rich-text tags a message uses ("{name}", "{count}" of a plural, "<strong>"), from its ICU syntax tree. */
function slots(message: string): string[] {
  const found = new Set<string>();
  const walk = (elements: MessageFormatElement[]) => {
    for (const element of elements) {
      if (isTagElement(element)) {
        found.add(`<${element.value}>`);
        walk(element.children);
      } else if (isPluralElement(element) || isSelectElement(element)) {
        found.add(`{${element.value}}`);
        for (const option of Object.values(element.options)) walk(option.value);
      } else if (element.type !== TYPE.literal && element.type !== TYPE.pound) {
        found.add(`{${element.value}}`);
      }
    }
  };
  walk(parse(message));
  return [...found].sort();
}

test('the first language Floe speaks, by q value', () => {
  assert.equal(localeFromAcceptLanguage('de-DE,de;q=0.9,en;q=0.8'), 'de');
  assert.equal(localeFromAcceptLanguage('fr-FR,fr;q=0.9,en-GB;q=0.7,de;q=0.5'), 'en');
  assert.equal(localeFromAcceptLanguage('en;q=0.3, de;q=0.8'), 'de');
  assert.equal(localeFromAcceptLanguage('de;q=0, en'), 'en');
  assert.equal(localeFromAcceptLanguage('fr, es'), undefined);
  assert.equal(localeFromAcceptLanguage(null), undefined);
});

test('every catalogue has the English keys, no empty message, and the same placeholders', () => {
  const english = flatten(catalogue('en'));
  assert.ok(english.size > 100, `the English catalogue has ${english.size} messages`);
  for (const locale of LOCALES) {
    const messages = flatten(catalogue(locale));
    assert.deepEqual([...messages.keys()].sort(), [...english.keys()].sort(), `${locale}.json has the keys of en.json`);
    for (const [key, text] of messages) {
      assert.notEqual(text.trim(), '', `${locale}: ${key} is empty`);
      assert.deepEqual(slots(text), slots(english.get(key)!), `${locale}: ${key} has the placeholders of the English message`);
    }
  }
});

test('every message is valid ICU and formats with sample values', () => {
  for (const locale of LOCALES) {
    const messages = catalogue(locale);
    const t = createTranslator({ locale, messages, timeZone: 'UTC', onError: (error) => assert.fail(`${locale}: ${error.message}`) });
    for (const [key, text] of flatten(messages)) {
      const values: Record<string, unknown> = {};
      for (const slot of slots(text)) {
        const name = slot.slice(1, -1);
        values[name] = slot.startsWith('<') ? (chunks: unknown) => chunks : 1;
      }
      const out = (t as unknown as { markup: (k: string, v: object) => string; rich: (k: string, v: object) => unknown }).rich(key, values);
      assert.ok(out !== undefined && out !== '', `${locale}: ${key} formats`);
    }
  }
});
