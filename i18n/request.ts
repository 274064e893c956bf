/**
 * next-intl's request settings: which language a page is in and in which time zone its dates
 * are shown. The language is the one chosen with the switch in the top bar (the `floe-locale`
 * cookie), else the first of the browser's languages (Accept-Language) Floe speaks, else
 * English. The time zone is the browser's own (the `floe-tz` cookie, set by LanguageSwitch),
 * else UTC. Messages live in messages/LOCALE.json.
 */
import { cookies, headers } from 'next/headers';
import { getRequestConfig } from 'next-intl/server';
import { LOCALE_COOKIE, type Locale, TIME_ZONE_COOKIE, isLocale, localeFromAcceptLanguage } from './locales';

function validTimeZone(zone: string | undefined): string | undefined {
  if (!zone || zone.length > 64) return undefined;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

export default getRequestConfig(async () => {
  const jar = await cookies();
  const chosen = jar.get(LOCALE_COOKIE)?.value;
  const locale: Locale = isLocale(chosen) ? chosen : (localeFromAcceptLanguage((await headers()).get('accept-language')) ?? 'en');
  const messages = (await import(`../messages/${locale}.json`)).default as Record<string, unknown>;
  return { locale, messages, timeZone: validTimeZone(jar.get(TIME_ZONE_COOKIE)?.value) ?? 'UTC' };
});
