'use client';
/**
 * A modal dialog on the browser's own <dialog> element: shown with showModal() (the rest of
 * the page is inert, focus moves in and Escape closes it), named by its heading, and calling
 * `onClose` however it was closed. Used by the console's toolbar for "Send text" and for the
 * power confirmations, and by ConfirmDialog on the light pages (with its own class).
 */
import { type ReactNode, useEffect, useId, useRef } from 'react';
import styles from './DesktopConsole.module.css';

export function ModalDialog({
  open,
  title,
  onClose,
  children,
  className = styles.dialog,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Default: the console's dark dialog style. */
  className?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog ref={ref} className={className} aria-labelledby={titleId} onClose={onClose}>
      <h2 id={titleId}>{title}</h2>
      {open && children}
    </dialog>
  );
}
