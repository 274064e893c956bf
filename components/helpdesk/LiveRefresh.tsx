'use client';
/**
 * Keeps a server-rendered staff page current: asks the server to render it again every few
 * seconds (router.refresh keeps what is typed and the scroll position), except while a dialog
 * is open or the tab is hidden. Shows when the page was last updated.
 */
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';

export function LiveRefresh({ everyMs = 3000, renderedAt, label }: { everyMs?: number; renderedAt: string; label?: string }) {
  const router = useRouter();
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.hidden || document.querySelector('dialog[open]')) return;
      router.refresh();
    }, everyMs);
    return () => clearInterval(timer);
  }, [router, everyMs]);
  return (
    <p className="updated">
      {label ?? 'Updates by itself'} · last update {renderedAt}
    </p>
  );
}
