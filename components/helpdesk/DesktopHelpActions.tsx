'use client';
/**
 * The helpdesk's buttons for one of a person's desktops: open it as the helpdesk (takes the
 * console over), restart, reset, give a fresh desktop, return it to the pool. Each asks for
 * confirmation and a reason (ReasonDialog), calls the helpdesk route, announces what happened and
 * refreshes the page.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ReasonDialog, usePostJson } from './ReasonDialog';
import { announce } from './StaffNotice';

type Action = 'open' | 'restart' | 'reset' | 'fresh' | 'return';

export interface DesktopHelpActionsProps {
  desktopId: string;
  owner: string;
  poolTitle: string;
  kind: 'persistent' | 'stateless';
  state: string;
  running: boolean;
  busy: boolean;
}

type Words = ReturnType<typeof useTranslations<'HelpdeskActions'>>;

function words(action: Action, p: DesktopHelpActionsProps, t: Words): { label: string; title: string; message: string; danger: boolean } {
  const values = { owner: p.owner, pool: p.poolTitle, loses: p.kind === 'persistent' ? t('losesPersistent') : t('losesStateless') };
  return { label: t(`${action}.label`), title: t(`${action}.title`, values), message: t(`${action}.message`, values), danger: action !== 'open' };
}

export function DesktopHelpActions(props: DesktopHelpActionsProps) {
  const router = useRouter();
  const t = useTranslations('HelpdeskActions');
  const staff = useTranslations('Staff');
  const postJson = usePostJson();
  const [asking, setAsking] = useState<Action | null>(null);
  const actions: Action[] = [];
  if (props.state === 'assigned') actions.push('open');
  if (!props.busy) actions.push('restart');
  if (props.running && !props.busy) actions.push('reset');
  if (!props.busy && props.state !== 'booting') actions.push('fresh', 'return');
  const current = asking ? words(asking, props, t) : null;

  async function run(action: Action, reason: string): Promise<string | null> {
    const id = encodeURIComponent(props.desktopId);
    if (action === 'open') {
      const { error, body } = await postJson<{ href: string }>(`/api/helpdesk/desktops/${id}/open`, { reason });
      if (error || !body) return error ?? staff('noAnswer');
      setAsking(null);
      router.push(body.href);
      return null;
    }
    const { error } = await postJson<{ message: string }>(`/api/helpdesk/desktops/${id}/action`, { action, reason });
    if (error) return error;
    setAsking(null);
    announce(t(`${action}.done`, { owner: props.owner, pool: props.poolTitle }));
    router.refresh();
    return null;
  }

  return (
    <div className="row-actions">
      {actions.map((action) => (
        <button key={action} type="button" className="button secondary small" onClick={() => setAsking(action)}>
          {t(`${action}.label`)}
        </button>
      ))}
      {actions.length === 0 && <span className="muted">{t('busy')}</span>}
      <ReasonDialog
        open={asking !== null}
        title={current?.title ?? ''}
        message={current?.message ?? ''}
        confirmLabel={current?.label ?? ''}
        danger={current?.danger ?? true}
        onConfirm={(reason) => (asking ? run(asking, reason) : Promise.resolve(null))}
        onCancel={() => setAsking(null)}
      />
    </div>
  );
}
