'use client';
/**
 * The console page's controls: Ctrl+Alt+Del, Send text, Fit to window (scaled to the window,
 * or 1:1 with scroll bars), Resize desktop to window (only when the guest runs the SPICE
 * agent), Full screen, Disconnect, Open in remote-viewer (a .vv file), and the Power menu. Every control is a
 * real button with a visible name; toggles say their state with aria-pressed. What the buttons
 * do is up to the page (DesktopConsole), except the power actions (PowerMenu).
 */
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
  return (
    <div role="group" aria-label="Console controls" className={styles.toolbar}>
      <button type="button" className={styles.toolButton} disabled={!props.connected} onClick={props.onCtrlAltDel}>
        Ctrl+Alt+Del
      </button>
      <button type="button" className={styles.toolButton} disabled={!props.connected} onClick={() => setSendingText(true)}>
        Send text
      </button>
      <button
        type="button"
        className={styles.toolButton}
        aria-pressed={props.fit}
        title={props.fit ? 'The screen is scaled to the window; press for its real size' : 'The screen is at its real size; press to scale it to the window'}
        onClick={() => props.onFitChange(!props.fit)}
      >
        Fit to window
      </button>
      {props.agent && (
        <button type="button" className={styles.toolButton} disabled={!props.connected} onClick={props.onResizeDesktop}>
          Resize desktop to window
        </button>
      )}
      <button
        type="button"
        className={styles.toolButton}
        aria-pressed={props.fullScreen}
        onClick={() => props.onFullScreenChange(!props.fullScreen)}
      >
        Full screen
      </button>
      <button type="button" className={styles.toolButton} disabled={!props.live} onClick={props.onDisconnect}>
        Disconnect
      </button>
      {props.remoteViewerHref && (
        <a className={styles.toolButton} href={props.remoteViewerHref} download>
          Open in remote-viewer
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
