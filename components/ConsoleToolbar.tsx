'use client';
/**
 * The console page's controls: Ctrl+Alt+Del, Send text, Fit to window (scaled to the window,
 * or 1:1 with scroll bars), Resize desktop to window (only when the guest runs the SPICE
 * agent), Full screen, Disconnect, Open in remote-viewer (a .vv file), and the Power menu. Every control is a
 * real button with a visible name; toggles say their state with aria-pressed. What the buttons
 * do is up to the page (DesktopConsole), except the power actions (PowerMenu).
 */
import { useTranslations } from 'next-intl';
import { useState } from 'react';
import type { DesktopView } from '@/lib/desktops';
import styles from './DesktopConsole.module.css';
import { type Notice, PowerMenu } from './PowerMenu';
import { SendTextDialog } from './SendTextDialog';

export interface ConsoleToolbarProps {
  desktopId: string;
  /** Where the desktop's `.vv` file for remote-viewer is downloaded (absent: no such button). */
  remoteViewerHref?: string;
  /** The console is up: keys can be sent. */
  connected: boolean;
  /** The console is connected or on its way back (Disconnect makes sense). */
  live: boolean;
  fit: boolean;
  onFitChange: (fit: boolean) => void;
  /** The guest's SPICE agent is there: offer to resize the desktop to the window. */
  agent: boolean;
  onResizeDesktop: () => void;
  fullScreen: boolean;
  onFullScreenChange: (fullScreen: boolean) => void;
  onCtrlAltDel: () => void;
  onSendText: (text: string) => void;
  onDisconnect: () => void;
  onNotice: (notice: Notice) => void;
  /** The desktop's state after a power action. */
  onDesktop: (desktop: DesktopView) => void;
}

export function ConsoleToolbar(props: ConsoleToolbarProps) {
  const [sendingText, setSendingText] = useState(false);
  const t = useTranslations('ConsoleToolbar');
  return (
    <div role="group" aria-label={t('controls')} className={styles.toolbar}>
      <button type="button" className={styles.toolButton} disabled={!props.connected} onClick={props.onCtrlAltDel}>
        {t('ctrlAltDel')}
      </button>
      <button type="button" className={styles.toolButton} disabled={!props.connected} onClick={() => setSendingText(true)}>
        {t('sendText')}
      </button>
      <button
        type="button"
        className={styles.toolButton}
        aria-pressed={props.fit}
        title={props.fit ? t('fitOn') : t('fitOff')}
        onClick={() => props.onFitChange(!props.fit)}
      >
        {t('fit')}
      </button>
      {props.agent && (
        <button type="button" className={styles.toolButton} disabled={!props.connected} onClick={props.onResizeDesktop}>
          {t('resize')}
        </button>
      )}
      <button
        type="button"
        className={styles.toolButton}
        aria-pressed={props.fullScreen}
        onClick={() => props.onFullScreenChange(!props.fullScreen)}
      >
        {t('fullScreen')}
      </button>
      <button type="button" className={styles.toolButton} disabled={!props.live} onClick={props.onDisconnect}>
        {t('disconnect')}
      </button>
      {props.remoteViewerHref && (
        <a className={styles.toolButton} href={props.remoteViewerHref} download>
          {t('remoteViewer')}
        </a>
      )}
      <PowerMenu desktopId={props.desktopId} onNotice={props.onNotice} onDesktop={props.onDesktop} />
      <SendTextDialog
        open={sendingText}
        onClose={() => setSendingText(false)}
        onSend={(text) => {
          setSendingText(false);
          props.onSendText(text);
        }}
      />
    </div>
  );
}
