'use client';
/**
 * The buttons under a desktop on "My desktops": a persistent desktop can be shut down (its
 * files stay) and restarted; a stateless one can be discarded. Each asks for confirmation,
 * then calls the power route and refreshes the page.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { type WordedAnswer, useApiWords } from '@/lib/api-words';
import { ConfirmDialog } from './ConfirmDialog';

type Action = 'shutdown' | 'restart' | 'discard';

export function DesktopActions({ desktopId, kind, running }: { desktopId: string; kind: 'persistent' | 'stateless'; running: boolean }) {
  const router = useRouter();
  const t = useTranslations('DesktopActions');
  const say = useApiWords();
  const [asking, setAsking] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const actions: Action[] = kind === 'stateless' ? ['discard'] : running ? ['shutdown', 'restart'] : ['restart'];

  async function run(action: Action) {
    setAsking(null);
    setBusy(true);
    setError(null);
    const response = await fetch(`/api/desktops/${encodeURIComponent(desktopId)}/power`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action }),
    }).catch(() => null);
    const body = (await response?.json().catch(() => ({}))) as WordedAnswer | undefined;
    setBusy(false);
    if (!response?.ok) setError(say(body, t('unreachable')));
    router.refresh();
  }

  return (
    <div className="desktop-actions">
      {actions.map((action) => (
        <button key={action} type="button" className="button secondary" disabled={busy} onClick={() => setAsking(action)}>
          {t(`${action}.label`)}
        </button>
      ))}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <ConfirmDialog
        open={asking !== null}
        title={asking ? t(`${asking}.title`) : ''}
        message={asking ? t(`${asking}.message`) : ''}
        confirmLabel={asking ? t(`${asking}.label`) : ''}
        onConfirm={() => asking && void run(asking)}
        onCancel={() => setAsking(null)}
      />
    </div>
  );
}
