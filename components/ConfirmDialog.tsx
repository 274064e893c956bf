'use client';
/**
 * A confirmation before an action that loses work (shutting a desktop down, discarding it): a
 * title, a sentence saying what will happen, and two buttons, in a ModalDialog (focus is
 * trapped and Escape cancels).
 */
import { useTranslations } from 'next-intl';
import { ModalDialog } from './ModalDialog';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  message: string;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ConfirmDialog({ open, title, message, confirmLabel, onConfirm, onCancel }: ConfirmDialogProps) {
  const t = useTranslations('Dialog');
  return (
    <ModalDialog open={open} title={title} onClose={onCancel} className="confirm-dialog">
      <p>{message}</p>
      <div className="dialog-buttons">
        <button type="button" className="button secondary" onClick={onCancel}>
          {t('cancel')}
        </button>
        <button type="button" className="button danger" onClick={onConfirm} autoFocus>
          {confirmLabel}
        </button>
      </div>
    </ModalDialog>
  );
}
