'use client';
/**
 * The way out of the console for keyboard users. While the desktop's screen has the focus every
 * key goes to the desktop, Tab included (the desktop needs it); Ctrl+Alt+Shift+L, or the
 * "Release keyboard" button (whose tooltip names the chord), gives the keyboard back to the page:
 * keys held are released in the guest and the focus moves to the first link of the console bar,
 * from where Tab moves on through the page. Clicking or tabbing into the screen takes it again.
 */
import { useTranslations } from 'next-intl';
import styles from '../DesktopConsole.module.css';

export const RELEASE_CHORD = 'Ctrl+Alt+Shift+L';

/** True for the key-down of the chord that releases the keyboard. */
export function isReleaseChord(event: KeyboardEvent): boolean {
  return event.type === 'keydown' && event.code === 'KeyL' && event.ctrlKey && event.altKey && event.shiftKey && !event.metaKey;
}

export function ReleaseKeyboardButton({ onRelease }: { onRelease: () => void }) {
  const t = useTranslations('ConsoleToolbar');
  return (
    <button
      type="button"
      className={styles.toolButton}
      title={t('releaseKeyboardHint', { chord: RELEASE_CHORD })}
      aria-keyshortcuts="Control+Alt+Shift+L"
      onClick={onRelease}
    >
      {t('releaseKeyboard')}
    </button>
  );
}
