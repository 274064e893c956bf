'use client';
/**
 * A confirmation for staff actions that asks why: a title, a sentence saying what will happen,
 * a required Reason (kept in the audit log with who did it) and two buttons. Built on the
 * native <dialog> (focus stays inside, Escape cancels). `onConfirm` gets the reason and answers
 * an error message to show, or null when the action is done (the dialog then closes).
 */
import { useTranslations } from 'next-intl';
import { type SayAnswer, type WordedAnswer, useApiWords } from '@/lib/api-words';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';

export interface ReasonDialogProps {
  open: boolean;
  title: string;
  message: string;
  confirmLabel: string;
  /** Whether the action loses something (red button). Default true. */
  danger?: boolean;
  /** Default true: the reason must be given. */
  reasonRequired?: boolean;
  onConfirm: (reason: string) => Promise<string | null>;
  onCancel: () => void;
}

export function ReasonDialog({ open, title, message, confirmLabel, danger = true, reasonRequired = true, onConfirm, onCancel }: ReasonDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const t = useTranslations('Reason');
  const staff = useTranslations('Staff');
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      setReason('');
      setReasonError(null);
      setError(null);
      dialog.showModal();
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = reason.trim();
    if (reasonRequired && text.length < 3) {
      setReasonError(t('tooShort'));
      return;
    }
    setReasonError(null);
    setError(null);
    setBusy(true);
    const problem = await onConfirm(text).catch(() => staff('unreachable'));
    setBusy(false);
    if (problem) setError(problem);
  }

  return (
    <dialog ref={ref} className="confirm-dialog reason-dialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-message`} onCancel={onCancel}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <h2 id={`${id}-title`}>{title}</h2>
        <p id={`${id}-message`}>{message}</p>
        <label htmlFor={`${id}-reason`} className="field-label">
          {reasonRequired ? t('label') : t('labelOptional')} <span className="hint">{t('kept')}</span>
        </label>
        <textarea
          id={`${id}-reason`}
          name="reason"
          rows={2}
          maxLength={500}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          aria-invalid={reasonError ? true : undefined}
          aria-describedby={reasonError ? `${id}-reason-error` : undefined}
          aria-required={reasonRequired}
        />
        {reasonError && (
          <p id={`${id}-reason-error`} className="field-error">
            {reasonError}
          </p>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" className="button secondary" onClick={onCancel} disabled={busy}>
            {t('cancel')}
          </button>
          <button type="submit" className={`button${danger ? ' danger' : ''}`} disabled={busy}>
            {busy ? t('working') : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** What postJson says when the server gave no words of its own, and how it words those it gave. */
export interface PostJsonWords {
  unreachable: string;
  answered: (status: number) => string;
  say: SayAnswer;
}

/**
 * POSTs JSON to a staff route; answers the server's error in the page's language (or `words`
 * when there is none), or null and the body when it worked.
 */
export async function postJson<T = unknown>(url: string, body: unknown, method = 'POST', words?: PostJsonWords): Promise<{ error: string | null; body: T | null }> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).catch(() => null);
  if (!response) return { error: words?.unreachable ?? 'Floe could not be reached. Please try again.', body: null };
  const parsed = (await response.json().catch(() => null)) as (T & WordedAnswer) | null;
  if (!response.ok) {
    const fallback = words?.answered(response.status) ?? `Floe answered ${response.status}.`;
    return { error: words ? words.say(parsed, fallback) : (parsed?.error ?? fallback), body: parsed };
  }
  return { error: null, body: parsed };
}

/** postJson with its own words in the page's language. */
export function usePostJson(): <T = unknown>(url: string, body: unknown, method?: string) => Promise<{ error: string | null; body: T | null }> {
  const t = useTranslations('Staff');
  const say = useApiWords();
  const words: PostJsonWords = { unreachable: t('unreachable'), answered: (status) => t('answered', { status }), say };
  return (url, body, method = 'POST') => postJson(url, body, method, words);
}
