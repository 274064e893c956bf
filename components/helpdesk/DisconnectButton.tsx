'use client';
/**
 * "Disconnect" for one open console on the helpdesk's person page: asks for confirmation and a
 * reason, closes the console on the server (the person's window is told the helpdesk closed
 * it), announces it and refreshes the page.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ReasonDialog, usePostJson } from './ReasonDialog';
import { announce } from './StaffNotice';

export function DisconnectButton({ sessionId, who }: { sessionId: string; who: string }) {
  const router = useRouter();
  const t = useTranslations('HelpdeskActions');
  const postJson = usePostJson();
  const [asking, setAsking] = useState(false);

  async function disconnect(reason: string): Promise<string | null> {
    const { error } = await postJson(`/api/helpdesk/consoles/${encodeURIComponent(sessionId)}/disconnect`, { reason });
    if (error) return error;
    setAsking(false);
    announce(t('disconnect.done', { who }));
    router.refresh();
    return null;
  }

  return (
    <>
      <button type="button" className="button secondary small" onClick={() => setAsking(true)}>
        {t('disconnect.label')}
      </button>
      <ReasonDialog
        open={asking}
        title={t('disconnect.title', { who })}
        message={t('disconnect.message')}
        confirmLabel={t('disconnect.label')}
        onConfirm={disconnect}
        onCancel={() => setAsking(false)}
      />
    </>
  );
}
