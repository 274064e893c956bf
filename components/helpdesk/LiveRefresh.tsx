'use client';
/**
 * Keeps a server-rendered staff page current: asks the server to render it again every few
 * seconds (router.refresh keeps what is typed and the scroll position), except while a dialog
 * is open or the tab is hidden. Shows when the page was last updated.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { type ReactNode, useEffect } from 'react';

export function LiveRefresh({ everyMs = 3000, renderedAt, label }: { everyMs?: number; renderedAt: ReactNode; label?: string }) {
  const router = useRouter();
  const t = useTranslations('Staff');
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.hidden || document.querySelector('dialog[open]')) return;
      router.refresh();
    }, everyMs);
    return () => clearInterval(timer);
  }, [router, everyMs]);
  return (
    <p className="updated">
      {t('lastUpdate', { label: label ?? t('updatesByItself') })} {renderedAt}
    </p>
  );
}
