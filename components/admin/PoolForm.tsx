'use client';
/**
 * The pool form, in a dialog: create a pool, edit one, or resize one (spares and max size
 * only). It sends the whole definition to the admin pool routes and shows what the server's
 * validation says beside each field (`issues` from the route: one per field, in plain words),
 * with the field marked invalid and described by its error; problems of no field go on top.
 */
import { useTranslations } from 'next-intl';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { PoolDefinition } from '@/lib/admin';
import { type WordedAnswer, useApiWords } from '@/lib/api-words';
import { usePostJson } from '../helpdesk/ReasonDialog';
import { announce } from '../helpdesk/StaffNotice';

export type PoolFormMode = 'create' | 'edit' | 'resize';

const NUMBER_FIELDS = ['memoryMiB', 'vcpus', 'spares', 'maxSize', 'maxPerUser', 'graceMinutes', 'idleMinutes'] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

/** Fields whose errors name them ("Max size must be at least 1"); others are named by their key. */
const NAMED_FIELDS = ['name', 'title', 'kind', 'template', 'onIdle', 'instant', ...NUMBER_FIELDS] as const;
const isNamedField = (field: string): field is (typeof NAMED_FIELDS)[number] => (NAMED_FIELDS as readonly string[]).includes(field);

const CUSTOM_TEMPLATE_EXAMPLE = JSON.stringify({ baseImage: 'images/office.qcow2', readiness: { kind: 'delay', seconds: 30 } }, null, 2);

interface Values {
  name: string;
  title: string;
  kind: string;
  templateKind: 'demo' | 'custom';
  templateJson: string;
  onIdle: string;
  instant: 'true' | 'false';
  numbers: Record<NumberField, string>;
}

function valuesOf(pool: PoolDefinition | undefined): Values {
  return {
    name: pool?.name ?? '',
    title: pool?.title ?? '',
    kind: pool?.kind ?? 'persistent',
    templateKind: !pool || pool.template === 'demo' ? 'demo' : 'custom',
    templateJson: pool && pool.template !== 'demo' ? JSON.stringify(pool.template, null, 2) : CUSTOM_TEMPLATE_EXAMPLE,
    onIdle: pool?.onIdle ?? 'keep',
    instant: pool?.instant === false ? 'false' : 'true',
    numbers: {
      memoryMiB: String(pool?.memoryMiB ?? 256),
      vcpus: String(pool?.vcpus ?? 1),
      spares: String(pool?.spares ?? 0),
      maxSize: String(pool?.maxSize ?? 10),
      maxPerUser: String(pool?.maxPerUser ?? 1),
      graceMinutes: String(pool?.graceMinutes ?? 15),
      idleMinutes: String(pool?.idleMinutes ?? 0),
    },
  };
}

/** A number field's value as sent: empty → left out (the default applies), not a number → sent as typed (the server says so). */
function numberValue(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

export function PoolForm({ mode, pool, open, onClose, onSaved }: { mode: PoolFormMode; pool?: PoolDefinition; open: boolean; onClose: () => void; onSaved: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const t = useTranslations('PoolForm');
  const postJson = usePostJson();
  const say = useApiWords();
  const [values, setValues] = useState<Values>(() => valuesOf(pool));
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      setValues(valuesOf(pool));
      setIssues({});
      setGeneral([]);
      dialog.showModal();
    }
    if (!open && dialog.open) dialog.close();
  }, [open, pool]);

  const show = (field: string) => mode !== 'resize' || field === 'spares' || field === 'maxSize';
  const title = mode === 'create' ? t('newPool') : mode === 'edit' ? t('editTitle', { pool: pool?.title ?? '' }) : t('resizeTitle', { pool: pool?.title ?? '' });

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body: Record<string, unknown> = { ...(pool ?? {}) };
    body.name = values.name.trim();
    body.title = values.title.trim();
    body.kind = values.kind;
    body.onIdle = values.onIdle;
    body.instant = values.instant === 'true';
    for (const field of NUMBER_FIELDS) {
      const value = numberValue(values.numbers[field]);
      if (value === undefined) delete body[field];
      else body[field] = value;
    }
    const local: Record<string, string> = {};
    if (values.templateKind === 'demo') body.template = 'demo';
    else {
      try {
        body.template = JSON.parse(values.templateJson) as unknown;
      } catch {
        local.template = t('notJson');
      }
    }
    if (Object.keys(local).length > 0) {
      setIssues(local);
      return;
    }
    setBusy(true);
    const url = mode === 'create' ? '/api/admin/pools' : `/api/admin/pools/${encodeURIComponent(pool?.name ?? '')}`;
    const { error, body: answer } = await postJson<{ issues?: (WordedAnswer & { field: string; message: string })[] }>(url, body, mode === 'create' ? 'POST' : 'PUT');
    setBusy(false);
    if (error) {
      const byField: Record<string, string> = {};
      const other: string[] = [];
      for (const issue of answer?.issues ?? []) {
        const field = issue.field.startsWith('template') ? 'template' : issue.field;
        if (field === 'template' || field === 'name' || field === 'title' || field === 'kind' || field === 'onIdle' || field === 'instant' || (NUMBER_FIELDS as readonly string[]).includes(field)) {
          const text = say(issue, issue.message);
          byField[field] = byField[field] ? `${byField[field]}; ${text}` : text;
        } else other.push(`${issue.field}: ${say(issue, issue.message)}`);
      }
      setIssues(byField);
      setGeneral(Object.keys(byField).length === 0 && other.length === 0 ? [error] : other);
      return;
    }
    announce(t(mode === 'create' ? 'created' : mode === 'resize' ? 'resized' : 'saved', { pool: body.title as string }));
    onSaved();
    onClose();
  }

  /** Fields whose hint is shown under them (and describes them until an error replaces it). */
  const hinted = new Set(['name', 'title', 'onIdle', 'instant', ...NUMBER_FIELDS]);
  const field = (name: string) => ({
    id: `${id}-${name}`,
    name,
    'aria-invalid': issues[name] ? true : undefined,
    'aria-describedby': issues[name] ? `${id}-${name}-error` : hinted.has(name) ? `${id}-${name}-hint` : undefined,
  });
  const errorOf = (name: string, hint?: string) =>
    issues[name] ? (
      <span id={`${id}-${name}-error`} className="field-error">
        {isNamedField(name) ? t(`fieldNames.${name}`) : name} {issues[name]}
      </span>
    ) : hint ? (
      <span id={`${id}-${name}-hint`} className="hint">
        {hint}
      </span>
    ) : null;

  return (
    <dialog ref={ref} className="confirm-dialog pool-dialog" aria-labelledby={`${id}-title`} onCancel={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate className="pool-form">
        <h2 id={`${id}-title`}>{title}</h2>
        {general.length > 0 && (
          <div role="alert" className="error">
            {general.map((g) => (
              <p key={g}>{g}</p>
            ))}
          </div>
        )}
        {Object.keys(issues).length > 0 && (
          <p role="alert" className="error">
            {t('correct', { count: Object.keys(issues).length })}
          </p>
        )}
        {show('name') && (
          <div className="form-field">
            <label htmlFor={`${id}-name`}>{t('name')}</label>
            <input {...field('name')} value={values.name} readOnly={mode !== 'create'} onChange={(e) => setValues({ ...values, name: e.target.value })} />
            {errorOf('name', mode === 'create' ? t('nameHintNew') : t('nameHintEdit'))}
          </div>
        )}
        {show('title') && (
          <div className="form-field">
            <label htmlFor={`${id}-title-field`}>{t('title')}</label>
            <input
              {...field('title')}
              id={`${id}-title-field`}
              value={values.title}
              onChange={(e) => setValues({ ...values, title: e.target.value })}
            />
            {errorOf('title', t('titleHint'))}
          </div>
        )}
        {show('kind') && (
          <div className="form-field">
            <label htmlFor={`${id}-kind`}>{t('kind')}</label>
            <select {...field('kind')} value={values.kind} onChange={(e) => setValues({ ...values, kind: e.target.value })}>
              <option value="persistent">{t('kindPersistent')}</option>
              <option value="stateless">{t('kindStateless')}</option>
            </select>
            {errorOf('kind')}
          </div>
        )}
        {show('template') && (
          <div className="form-field">
            <label htmlFor={`${id}-template`}>{t('template')}</label>
            <select
              {...field('template')}
              value={values.templateKind}
              onChange={(e) => setValues({ ...values, templateKind: e.target.value === 'custom' ? 'custom' : 'demo' })}
            >
              <option value="demo">{t('templateDemo')}</option>
              <option value="custom">{t('templateCustom')}</option>
            </select>
            {values.templateKind === 'custom' && (
              <>
                <label htmlFor={`${id}-template-json`} className="sub-label">
                  {t('templateJson')}
                </label>
                <textarea
                  id={`${id}-template-json`}
                  rows={5}
                  value={values.templateJson}
                  onChange={(e) => setValues({ ...values, templateJson: e.target.value })}
                  aria-invalid={issues.template ? true : undefined}
                  aria-describedby={issues.template ? `${id}-template-error` : undefined}
                />
              </>
            )}
            {errorOf('template')}
          </div>
        )}
        <div className="form-grid">
          {NUMBER_FIELDS.filter(show).map((name) => (
            <div className="form-field" key={name}>
              <label htmlFor={`${id}-${name}`}>{t(`numbers.${name}.label`)}</label>
              <input
                {...field(name)}
                type="number"
                inputMode="numeric"
                value={values.numbers[name]}
                onChange={(e) => setValues({ ...values, numbers: { ...values.numbers, [name]: e.target.value } })}
              />
              {errorOf(name, t(`numbers.${name}.hint`))}
            </div>
          ))}
        </div>
        {show('onIdle') && (
          <div className="form-field">
            <label htmlFor={`${id}-onIdle`}>{t('onIdle')}</label>
            <select {...field('onIdle')} value={values.onIdle} onChange={(e) => setValues({ ...values, onIdle: e.target.value })}>
              <option value="keep">{t('onIdleKeep')}</option>
              <option value="shutdown">{t('onIdleShutdown')}</option>
            </select>
            {errorOf('onIdle', t('onIdleHint'))}
          </div>
        )}
        {show('instant') && (
          <div className="form-field">
            <label htmlFor={`${id}-instant`}>{t('instant')}</label>
            <select {...field('instant')} value={values.instant} onChange={(e) => setValues({ ...values, instant: e.target.value as Values['instant'] })}>
              <option value="true">{t('instantTrue')}</option>
              <option value="false">{t('instantFalse')}</option>
            </select>
            {errorOf('instant', t('instantHint'))}
          </div>
        )}
        <div className="dialog-buttons">
          <button type="button" className="button secondary" onClick={onClose} disabled={busy}>
            {t('cancel')}
          </button>
          <button type="submit" className="button" disabled={busy}>
            {busy ? t('saving') : mode === 'create' ? t('create') : t('save')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
