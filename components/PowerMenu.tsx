'use client';
/**
 * The console's "Power" menu: Shut down, Restart or Reset the desktop, each after a
 * confirmation that says what will happen. The choice is sent as
 * `POST /api/desktops/{id}/power` with `{"action": "shutdown" | "restart" | "reset"}`; the
 * outcome (or the server's own error message) is reported through `onNotice`, and the
 * desktop's new state from the answer (`{"desktop": ...}`) through `onDesktop`.
 */
import { useTranslations } from 'next-intl';
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { type WordedAnswer, useApiWords } from '@/lib/api-words';
import type { DesktopView } from '@/lib/desktops';
import styles from './DesktopConsole.module.css';
import { ModalDialog } from './ModalDialog';

export type PowerAction = 'shutdown' | 'restart' | 'reset';

export interface Notice {
  kind: 'info' | 'error';
  text: string;
}

const ORDER: PowerAction[] = ['shutdown', 'restart', 'reset'];

export function PowerMenu({
  desktopId,
  onNotice,
  onDesktop,
}: {
  desktopId: string;
  onNotice: (notice: Notice) => void;
  onDesktop?: (desktop: DesktopView) => void;
}) {
  const t = useTranslations('Power');
  const say = useApiWords();
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState<PowerAction | null>(null);
  const [busy, setBusy] = useState(false);
  const menuId = useId();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLUListElement>(null);

  // Focus the first item when the menu opens; close it on a click elsewhere.
  useEffect(() => {
    if (!open) return;
    menuRef.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const onPointerDown = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!menuRef.current?.contains(target) && !buttonRef.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointerDown);
    return () => document.removeEventListener('pointerdown', onPointerDown);
  }, [open]);

  function onMenuKeyDown(event: KeyboardEvent<HTMLUListElement>) {
    const items = [...(menuRef.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    let next: number | undefined;
    if (event.key === 'ArrowDown') next = (at + 1) % items.length;
    else if (event.key === 'ArrowUp') next = (at - 1 + items.length) % items.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = items.length - 1;
    else if (event.key === 'Escape' || event.key === 'Tab') {
      setOpen(false);
      if (event.key === 'Escape') buttonRef.current?.focus();
      return;
    }
    if (next === undefined) return;
    event.preventDefault();
    items[next]?.focus();
  }

  function choose(action: PowerAction) {
    setOpen(false);
    setConfirming(action);
  }

  async function run(action: PowerAction) {
    setBusy(true);
    try {
      const response = await fetch(`/api/desktops/${encodeURIComponent(desktopId)}/power`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ action }),
        cache: 'no-store',
      });
      const body = (await response.json().catch(() => ({}))) as WordedAnswer & { desktop?: DesktopView };
      if (response.ok) {
        onNotice({ kind: 'info', text: t(`${action}.done`) });
        if (body.desktop) onDesktop?.(body.desktop);
      } else onNotice({ kind: 'error', text: say(body, t(`${action}.failed`, { status: response.status })) });
    } catch {
      onNotice({ kind: 'error', text: t(`${action}.noAnswer`) });
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  }

  const asked = confirming
    ? { label: t(`${confirming}.label`), question: t(`${confirming}.question`), explanation: t(`${confirming}.explanation`) }
    : null;
  return (
    <div className={styles.menuHolder}>
      <button
        ref={buttonRef}
        type="button"
        className={styles.toolButton}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' && !open) {
            event.preventDefault();
            setOpen(true);
          }
        }}
      >
        {t('menu')}
      </button>
      {open && (
        <ul ref={menuRef} id={menuId} role="menu" aria-label={t('menu')} className={styles.menu} onKeyDown={onMenuKeyDown}>
          {ORDER.map((action) => (
            <li key={action} role="none">
              <button type="button" role="menuitem" tabIndex={-1} onClick={() => choose(action)}>
                {t(`${action}.label`)}
              </button>
            </li>
          ))}
        </ul>
      )}
      <ModalDialog open={asked !== null} title={asked?.question ?? ''} onClose={() => !busy && setConfirming(null)}>
        {asked && confirming && (
          <form
            method="dialog"
            onSubmit={(event) => {
              event.preventDefault();
              void run(confirming);
            }}
          >
            <p>{asked.explanation}</p>
            <div className={styles.dialogButtons}>
              <button type="button" className="button secondary" onClick={() => setConfirming(null)} disabled={busy}>
                {t('cancel')}
              </button>
              <button type="submit" className={`button ${confirming === 'reset' ? styles.danger : ''}`} disabled={busy}>
                {asked.label}
              </button>
            </div>
          </form>
        )}
      </ModalDialog>
    </div>
  );
}
