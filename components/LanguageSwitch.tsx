'use client';
/**
 * The language switch in the top bar (English, Deutsch): the choice is kept in a cookie and the
 * page is rendered again in that language. It also tells the server the browser's time zone
 * (a cookie), so dates and times are shown in the person's own.
 */
import { useLocale, useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useEffect, useId } from 'react';
import { LOCALES, LOCALE_COOKIE, TIME_ZONE_COOKIE } from '@/i18n/locales';

const NAMES: Record<(typeof LOCALES)[number], string> = { en: 'English', de: 'Deutsch' };
const YEAR = 365 * 24 * 3600;

function readCookie(name: string): string | undefined {
  return document.cookie
    .split('; ')
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1);
}

function setCookie(name: string, value: string) {
  document.cookie = `${name}=${encodeURIComponent(value)}; path=/; max-age=${YEAR}; samesite=lax`;
}

export function LanguageSwitch() {
  const id = useId();
  const locale = useLocale();
  const t = useTranslations('TopBar');
  const router = useRouter();

  useEffect(() => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && decodeURIComponent(readCookie(TIME_ZONE_COOKIE) ?? '') !== zone) {
      setCookie(TIME_ZONE_COOKIE, zone);
      router.refresh();
    }
  }, [router]);

  return (
    <span className="language-switch">
      <label htmlFor={id} className="visually-hidden">
        {t('language')}
      </label>
      <select
        id={id}
        value={locale}
        onChange={(event) => {
          setCookie(LOCALE_COOKIE, event.target.value);
          router.refresh();
        }}
      >
        {LOCALES.map((l) => (
          <option key={l} value={l} lang={l}>
            {NAMES[l]}
          </option>
        ))}
      </select>
    </span>
  );
}
