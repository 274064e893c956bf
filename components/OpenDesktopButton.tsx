'use client';
/**
 * "Open desktop": asks the broker for the person's desktop of a pool and goes to its page,
 * where the start-up progress and then the screen are shown. Refusals (a full pool) are shown
 * in the broker's words, in the page's language.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { type WordedAnswer, useApiWords } from '@/lib/api-words';

export function OpenDesktopButton({ pool, label }: { pool: string; label?: string }) {
  const t = useTranslations('Desktops');
  const router = useRouter();
  const say = useApiWords();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function open() {
    setBusy(true);
    setError(null);
    try {
      const response = await fetch('/api/desktops', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pool }),
      });
      const body = (await response.json().catch(() => ({}))) as WordedAnswer & { desktop?: { id: string } };
      if (!response.ok || !body.desktop) throw new Error(say(body, t('openFailed', { status: response.status })));
      router.push(`/desktops/${encodeURIComponent(body.desktop.id)}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" className="button" onClick={() => void open()} disabled={busy}>
        {busy ? t('opening') : (label ?? t('open'))}
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </>
  );
}
