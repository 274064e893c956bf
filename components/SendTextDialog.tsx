'use client';
/**
 * "Send text": a dialog with a text box whose text is typed into the desktop as keystrokes.
 * spice-html5 has no clipboard, so this is how people paste. The keys are those of a US
 * keyboard layout; characters it has no key for are reported, not typed.
 */
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
  const [text, setText] = useState('');
  const fieldId = useId();
  const hintId = useId();

  return (
    <ModalDialog open={open} title="Send text" onClose={onClose}>
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
          Text to type
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
          Floe types this into your desktop key by key, as on a US keyboard; each new line is an Enter. Paste into this box
          to copy text into the desktop.
        </p>
        <div className={styles.dialogButtons}>
          <button type="button" className="button secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button" disabled={!text}>
            Type text
          </button>
        </div>
      </form>
    </ModalDialog>
  );
}
