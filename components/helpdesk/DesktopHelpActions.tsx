'use client';
/**
 * The helpdesk's buttons for one of a person's desktops: open it as the helpdesk (takes the
 * console over), restart, reset, give a fresh desktop, return it to the pool. Each asks for
 * confirmation and a reason (ReasonDialog), calls the helpdesk route, announces what happened and
 * refreshes the page.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ReasonDialog, postJson } from './ReasonDialog';
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

function words(action: Action, p: DesktopHelpActionsProps): { label: string; title: string; message: string; danger: boolean } {
  const loses = p.kind === 'persistent' ? 'its disk, with all their files, is deleted' : 'everything on it is discarded';
  switch (action) {
    case 'open':
      return {
        label: 'Open as helpdesk',
        title: `Open ${p.owner}'s desktop as the helpdesk?`,
        message: `You get the desktop's screen. A desktop shows in one window at a time, so ${p.owner}'s window closes and tells them the helpdesk opened it.`,
        danger: false,
      };
    case 'restart':
      return {
        label: 'Restart',
        title: `Restart ${p.owner}'s desktop?`,
        message: 'It is switched off and started again on the same disk. Programs still open lose unsaved work; files are kept.',
        danger: true,
      };
    case 'reset':
      return {
        label: 'Reset',
        title: `Reset ${p.owner}'s desktop?`,
        message: 'It restarts at once, like pressing a reset button: unsaved work is lost. Use this when the desktop does not respond.',
        danger: true,
      };
    case 'fresh':
      return {
        label: 'Give a fresh desktop',
        title: `Give ${p.owner} a fresh desktop?`,
        message: `This desktop is recycled (${loses}) and a new one of "${p.poolTitle}" starts for ${p.owner} at once.`,
        danger: true,
      };
    case 'return':
      return {
        label: 'Return to pool',
        title: `Return ${p.owner}'s desktop to the pool?`,
        message: `This desktop is recycled (${loses}). ${p.owner} gets a new one the next time they open "${p.poolTitle}".`,
        danger: true,
      };
  }
}

export function DesktopHelpActions(props: DesktopHelpActionsProps) {
  const router = useRouter();
  const [asking, setAsking] = useState<Action | null>(null);
  const actions: Action[] = [];
  if (props.state === 'assigned') actions.push('open');
  if (!props.busy) actions.push('restart');
  if (props.running && !props.busy) actions.push('reset');
  if (!props.busy && props.state !== 'booting') actions.push('fresh', 'return');
  const current = asking ? words(asking, props) : null;

  async function run(action: Action, reason: string): Promise<string | null> {
    const id = encodeURIComponent(props.desktopId);
    if (action === 'open') {
      const { error, body } = await postJson<{ href: string }>(`/api/helpdesk/desktops/${id}/open`, { reason });
      if (error || !body) return error ?? 'Floe did not answer.';
      setAsking(null);
      router.push(body.href);
      return null;
    }
    const { error, body } = await postJson<{ message: string }>(`/api/helpdesk/desktops/${id}/action`, { action, reason });
    if (error) return error;
    setAsking(null);
    announce(body?.message ?? 'Done.');
    router.refresh();
    return null;
  }

  return (
    <div className="row-actions">
      {actions.map((action) => (
        <button key={action} type="button" className="button secondary small" onClick={() => setAsking(action)}>
          {words(action, props).label}
        </button>
      ))}
      {actions.length === 0 && <span className="muted">Busy; wait a moment</span>}
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
