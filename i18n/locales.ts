/**
 * The languages Floe speaks and the cookies that carry a person's choice of language and their
 * browser's time zone; shared by the server (i18n/request.ts) and the switch in the top bar.
 */
export const LOCALES = ['en', 'de'] as const;
export type Locale = (typeof LOCALES)[number];
export const LOCALE_COOKIE = 'floe-locale';
export const TIME_ZONE_COOKIE = 'floe-tz';

export const isLocale = (value: string | undefined): value is Locale => LOCALES.includes(value as Locale);

/** The first language of an Accept-Language header that Floe speaks, by the order of its q values. */
export function localeFromAcceptLanguage(header: string | null): Locale | undefined {
  const wanted = (header ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = Number(params.find((p) => p.trim().startsWith('q='))?.trim().slice(2) ?? 1);
      return { language: tag.trim().toLowerCase().split('-')[0], q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return wanted.map((entry) => entry.language).find(isLocale);
}
