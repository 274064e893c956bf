'use client';
/**
 * "Send text": a dialog with a text box whose text is typed into the desktop as keystrokes.
 * spice-html5 has no clipboard, so this is how people paste. The keys are those of a US
 * keyboard layout; characters it has no key for are reported, not typed.
 */
import { useTranslations } from 'next-intl';
import { useId, useState } from 'react';
import styles from './DesktopConsole.module.css';
import { ModalDialog } from './ModalDialog';

export const MAX_TEXT_LENGTH = 10_000;

export function SendTextDialog({
  open,
  onClose,
  onSend,
}: {
  open: boolean;
  onClose: () => void;
  onSend: (text: string) => void;
}) {
  const t = useTranslations('SendText');
  const [text, setText] = useState('');
  const fieldId = useId();
  const hintId = useId();

  return (
    <ModalDialog open={open} title={t('title')} onClose={onClose}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (!text) return;
          onSend(text);
          setText('');
        }}
      >
        <label htmlFor={fieldId} className={styles.fieldLabel}>
          {t('field')}
        </label>
        <textarea
          id={fieldId}
          className={styles.textField}
          rows={6}
          maxLength={MAX_TEXT_LENGTH}
          value={text}
          onChange={(event) => setText(event.target.value)}
          aria-describedby={hintId}
          autoFocus
        />
        <p id={hintId} className={styles.hint}>
          {t('hint')}
        </p>
        <div className={styles.dialogButtons}>
          <button type="button" className="button secondary" onClick={onClose}>
            {t('cancel')}
          </button>
          <button type="submit" className="button" disabled={!text}>
            {t('submit')}
          </button>
        </div>
      </form>
    </ModalDialog>
  );
}
