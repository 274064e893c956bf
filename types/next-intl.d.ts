/**
 * next-intl's types know Floe's messages (messages/en.json, the reference catalogue), so a
 * misspelt key fails `tsc`; test/locales.test.ts checks the other catalogues have the same keys.
 */
import type en from '../messages/en.json';
import type { Locale } from '../i18n/locales';

declare module 'next-intl' {
  interface AppConfig {
    Locale: Locale;
    Messages: typeof en;
  }
}
