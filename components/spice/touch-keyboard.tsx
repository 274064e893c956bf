'use client';
/**
 * The on-screen keyboard for tablets and phones: a "Keyboard" button focuses a small text field
 * over the screen, which brings up the device's keyboard. What is typed there goes to the
 * desktop: characters by typeText (US-layout keystrokes), Enter, Backspace, Tab, Escape and the
 * arrows as keys, one after another in the order typed. The field itself stays empty.
 */
import { useTranslations } from 'next-intl';
import { useEffect, useRef } from 'react';
import styles from '../DesktopConsole.module.css';

const KEYS = new Set(['Enter', 'Backspace', 'Tab', 'Escape', 'ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Delete', 'Home', 'End']);

export interface TouchKeyboardTarget {
  key(code: string, down: boolean): boolean;
  typeText(text: string): Promise<unknown>;
}

export function TouchKeyboard({ target, disabled }: { target: () => TouchKeyboardTarget | null; disabled: boolean }) {
  const t = useTranslations('ConsoleToolbar');
  const field = useRef<HTMLTextAreaElement>(null);
  const targetRef = useRef(target);
  targetRef.current = target;
  // One after another: a key pressed while earlier characters are still being typed waits its turn.
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const send = (work: (connection: TouchKeyboardTarget) => unknown) => {
    queue.current = queue.current.then(() => {
      const connection = targetRef.current();
      return connection ? work(connection) : undefined;
    }).catch(() => undefined);
  };
  const press = (code: string) =>
    send((connection) => {
      connection.key(code, true);
      connection.key(code, false);
    });
  const pressRef = useRef(press);
  pressRef.current = press;
  const sendRef = useRef(send);
  sendRef.current = send;

  // The native beforeinput event says what the device keyboard did (React's onBeforeInput does not).
  useEffect(() => {
    const element = field.current;
    if (!element) return;
    const onBeforeInput = (input: InputEvent) => {
      input.preventDefault();
      const text = input.data;
      if (input.inputType === 'insertText' && text) sendRef.current((connection) => connection.typeText(text));
      else if (input.inputType === 'insertLineBreak' || input.inputType === 'insertParagraph') pressRef.current('Enter');
      else if (input.inputType === 'deleteContentBackward') pressRef.current('Backspace');
    };
    element.addEventListener('beforeinput', onBeforeInput);
    return () => element.removeEventListener('beforeinput', onBeforeInput);
  }, []);
  return (
    <>
      <button type="button" className={styles.toolButton} disabled={disabled} onClick={() => field.current?.focus()}>
        {t('keyboard')}
      </button>
      <textarea
        ref={field}
        className={styles.touchKeyboard}
        aria-label={t('typeToDesktop')}
        autoCapitalize="off"
        autoCorrect="off"
        autoComplete="off"
        spellCheck={false}
        rows={1}
        value=""
        onChange={() => undefined}
        onKeyDown={(event) => {
          if (!KEYS.has(event.code)) return;
          event.preventDefault();
          press(event.code);
        }}
      />
    </>
  );
}
