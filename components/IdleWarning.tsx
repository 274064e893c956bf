'use client';
/**
 * The console's idle policy, as the person sees it: a pool may set `idleMinutes`, and a console
 * with no keyboard, mouse or touch input on its screen for that long is disconnected. Before
 * that, a countdown ("This desktop will be disconnected in 2:00") with a "Stay connected" button
 * is shown for the last two minutes (or the last half of a shorter idle time). Input is watched
 * on the console page (screen, toolbar, on-screen keyboard) in the capture phase, in the browser:
 * the relay's hot path is untouched.
 */
import { useTranslations } from 'next-intl';
import { type RefObject, useCallback, useEffect, useRef, useState } from 'react';

/** The countdown is shown this long before the disconnect, at most half the idle time. */
const WARNING_MS = 2 * 60_000;
const INPUT_EVENTS = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart', 'beforeinput'] as const;

/** "2:00", "0:07": minutes and seconds left. */
export function formatCountdown(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** "15 seconds", "1 minute", "30 minutes": an idle time in words, in the page's language. */
export function useIdleDuration(): (minutes: number) => string {
  const t = useTranslations('Idle');
  return (minutes) => (minutes < 1 ? t('seconds', { count: Math.round(minutes * 60) }) : t('minutes', { count: Math.round(minutes) }));
}

/**
 * Follows input on `target` while `active`; returns the milliseconds left when the warning is
 * due (null before), and `stay` to start the idle time again. Calls `onIdle` once when it runs out.
 */
export function useIdleCountdown(target: RefObject<HTMLElement | null>, idleMinutes: number, active: boolean, onIdle: () => void) {
  const idleMs = idleMinutes * 60_000;
  const lastInput = useRef(Date.now());
  const [left, setLeft] = useState<number | null>(null);
  const onIdleRef = useRef(onIdle);
  onIdleRef.current = onIdle;

  const stay = useCallback(() => {
    lastInput.current = Date.now();
    setLeft(null);
  }, []);

  useEffect(() => {
    const element = target.current;
    if (!active || idleMs <= 0 || !element) return;
    lastInput.current = Date.now();
    const seen = () => {
      lastInput.current = Date.now();
    };
    for (const name of INPUT_EVENTS) element.addEventListener(name, seen, { capture: true, passive: true });
    const warnMs = Math.min(WARNING_MS, idleMs / 2);
    const tick = () => {
      const remaining = lastInput.current + idleMs - Date.now();
      if (remaining <= 0) {
        setLeft(null);
        onIdleRef.current();
      } else setLeft(remaining <= warnMs ? remaining : null);
    };
    const timer = setInterval(tick, 250);
    return () => {
      clearInterval(timer);
      for (const name of INPUT_EVENTS) element.removeEventListener(name, seen, { capture: true });
      setLeft(null);
    };
  }, [target, idleMs, active]);

  return { left, stay };
}

/** The countdown over the console: an alert dialog whose button keeps the console open. */
export function IdleWarning({ left, stateless, onStay }: { left: number; stateless: boolean; onStay: () => void }) {
  const buttonRef = useRef<HTMLButtonElement>(null);
  const t = useTranslations('Idle');
  useEffect(() => buttonRef.current?.focus(), []);
  return (
    <section className="boot-progress idle-warning" role="alertdialog" aria-labelledby="idle-title" aria-describedby="idle-text" style={{ position: 'absolute' }}>
      <h1 id="idle-title">{t('title')}</h1>
      <p id="idle-text">
        {t.rich('text', { time: formatCountdown(left), strong: (chunks) => <strong>{chunks}</strong> })}
        {stateless ? ` ${t('stateless')}` : ''}
      </p>
      <button ref={buttonRef} type="button" className="button" onClick={onStay}>
        {t('stay')}
      </button>
    </section>
  );
}
