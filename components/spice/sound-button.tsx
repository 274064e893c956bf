'use client';
/**
 * Sound from the desktop (the SPICE playback channel, which spice-html5 plays through an
 * <audio> element it adds to the screen element). Browsers let a page play sound only after a
 * gesture, so sound starts off: pressing "Sound" (a click, the gesture) unmutes and plays the
 * element, pressing it again mutes it (a toggle button: aria-pressed says which). Elements spice-html5 adds later (after a reconnect) follow the choice.
 */
import { useTranslations } from 'next-intl';
import { useEffect, useState } from 'react';
import styles from '../DesktopConsole.module.css';

export function SoundButton({ screen }: { screen: () => HTMLElement | null }) {
  const t = useTranslations('Console');
  const [on, setOn] = useState(false);

  useEffect(() => {
    const element = screen();
    if (!element) return;
    const apply = () => {
      for (const audio of element.querySelectorAll('audio')) {
        audio.muted = !on;
        if (on) void audio.play().catch(() => undefined);
      }
    };
    apply();
    const observer = new MutationObserver(apply);
    observer.observe(element, { childList: true });
    return () => observer.disconnect();
  }, [on, screen]);

  return (
    <button type="button" className={styles.toolButton} aria-pressed={on} onClick={() => setOn(!on)}>
      {t('sound')}
    </button>
  );
}
