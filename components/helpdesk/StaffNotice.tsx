'use client';
/**
 * What a staff action just did, said at the top of the page ("Alice Martin's console was
 * closed."): the row whose button was pressed may be gone after the page refreshes, so actions
 * `announce` their outcome here instead. A polite live region; the latest message stays.
 */
import { useTranslations } from 'next-intl';
import { useEffect, useState } from 'react';

const EVENT = 'floe-staff-notice';

export function announce(text: string): void {
  window.dispatchEvent(new CustomEvent<string>(EVENT, { detail: text }));
}

export function StaffNotices() {
  const [text, setText] = useState('');
  const t = useTranslations('Staff');
  useEffect(() => {
    const listener = (event: Event) => setText((event as CustomEvent<string>).detail);
    window.addEventListener(EVENT, listener);
    return () => window.removeEventListener(EVENT, listener);
  }, []);
  return (
    <p role="status" aria-label={t('lastAction')} className={text ? 'staff-notice' : 'staff-notice empty'}>
      {text}
    </p>
  );
}
