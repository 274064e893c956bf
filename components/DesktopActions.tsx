'use client';
/**
 * The buttons under a desktop on "My desktops": a persistent desktop can be shut down (its
 * files stay) and restarted; a stateless one can be discarded. Each asks for confirmation,
 * then calls the power route and refreshes the page.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmDialog } from './ConfirmDialog';

type Action = 'shutdown' | 'restart' | 'discard';

const WORDS: Record<Action, { label: string; title: string; message: string }> = {
  shutdown: {
    label: 'Shut down',
    title: 'Shut down this desktop?',
    message: 'Programs still running on it are closed. Your files in /home are kept, and you can start it again.',
  },
  restart: {
    label: 'Restart',
    title: 'Restart this desktop?',
    message: 'It is switched off and started again. Unsaved work in open programs is lost; your files are kept.',
  },
  discard: {
    label: 'Discard',
    title: 'Discard this desktop?',
    message: 'It is deleted with everything on it. Next time you get a fresh one.',
  },
};

export function DesktopActions({ desktopId, kind, running }: { desktopId: string; kind: 'persistent' | 'stateless'; running: boolean }) {
  const router = useRouter();
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
    const body = (await response?.json().catch(() => ({}))) as { error?: string } | undefined;
    setBusy(false);
    if (!response?.ok) setError(body?.error ?? 'Floe could not be reached. Please try again.');
    router.refresh();
  }

  return (
    <div className="desktop-actions">
      {actions.map((action) => (
        <button key={action} type="button" className="button secondary" disabled={busy} onClick={() => setAsking(action)}>
          {WORDS[action].label}
        </button>
      ))}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <ConfirmDialog
        open={asking !== null}
        title={asking ? WORDS[asking].title : ''}
        message={asking ? WORDS[asking].message : ''}
        confirmLabel={asking ? WORDS[asking].label : ''}
        onConfirm={() => asking && void run(asking)}
        onCancel={() => setAsking(null)}
      />
    </div>
  );
}
