/**
 * Choosing the page language from the browser's Accept-Language header (i18n/locales.ts): the
 * first language by q value that Floe speaks, region subtags ignored, q=0 meaning "not this one".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localeFromAcceptLanguage } from '../i18n/locales';

test('the first language Floe speaks, by q value', () => {
  assert.equal(localeFromAcceptLanguage('de-DE,de;q=0.9,en;q=0.8'), 'de');
  assert.equal(localeFromAcceptLanguage('fr-FR,fr;q=0.9,en-GB;q=0.7,de;q=0.5'), 'en');
  assert.equal(localeFromAcceptLanguage('en;q=0.3, de;q=0.8'), 'de');
  assert.equal(localeFromAcceptLanguage('de;q=0, en'), 'en');
  assert.equal(localeFromAcceptLanguage('fr, es'), undefined);
  assert.equal(localeFromAcceptLanguage(null), undefined);
});
