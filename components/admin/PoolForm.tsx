'use client';
/**
 * The pool form, in a dialog: create a pool, edit one, or resize one (spares and max size
 * only). It sends the whole definition to the admin pool routes and shows what the server's
 * validation says beside each field (`issues` from the route: one per field, in plain words),
 * with the field marked invalid and described by its error; problems of no field go on top.
 */
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { PoolDefinition } from '@/lib/admin';
import { postJson } from '../helpdesk/ReasonDialog';
import { announce } from '../helpdesk/StaffNotice';

export type PoolFormMode = 'create' | 'edit' | 'resize';

const NUMBER_FIELDS = ['memoryMiB', 'vcpus', 'spares', 'maxSize', 'maxPerUser', 'graceMinutes', 'idleMinutes'] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

const LABELS: Record<NumberField, { label: string; hint: string }> = {
  memoryMiB: { label: 'Memory per desktop (MiB)', hint: '64 to 262144' },
  vcpus: { label: 'vCPUs per desktop', hint: '1 to 64' },
  spares: { label: 'Spares kept ready', hint: 'desktops booted before anyone asks' },
  maxSize: { label: 'Most desktops (max size)', hint: 'at least 1' },
  maxPerUser: { label: 'Desktops per person', hint: 'at least 1' },
  graceMinutes: { label: 'Grace after the console closes (minutes)', hint: 'then the idle policy applies' },
  idleMinutes: { label: 'Disconnect a console left idle (minutes)', hint: '0 never; a countdown warns first' },
};

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
  const title = mode === 'create' ? 'New pool' : mode === 'edit' ? `Edit “${pool?.title}”` : `Resize “${pool?.title}”`;

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
        local.template = 'is not valid JSON';
      }
    }
    if (Object.keys(local).length > 0) {
      setIssues(local);
      return;
    }
    setBusy(true);
    const url = mode === 'create' ? '/api/admin/pools' : `/api/admin/pools/${encodeURIComponent(pool?.name ?? '')}`;
    const { error, body: answer } = await postJson<{ issues?: { field: string; message: string }[] }>(url, body, mode === 'create' ? 'POST' : 'PUT');
    setBusy(false);
    if (error) {
      const byField: Record<string, string> = {};
      const other: string[] = [];
      for (const issue of answer?.issues ?? []) {
        const field = issue.field.startsWith('template') ? 'template' : issue.field;
        if (field === 'template' || field === 'name' || field === 'title' || field === 'kind' || field === 'onIdle' || field === 'instant' || (NUMBER_FIELDS as readonly string[]).includes(field)) {
          byField[field] = byField[field] ? `${byField[field]}; ${issue.message}` : issue.message;
        } else other.push(`${issue.field}: ${issue.message}`);
      }
      setIssues(byField);
      setGeneral(Object.keys(byField).length === 0 && other.length === 0 ? [error] : other);
      return;
    }
    announce(
      mode === 'create'
        ? `Pool “${body.title as string}” was created.`
        : mode === 'resize'
          ? `Pool “${body.title as string}” was resized.`
          : `Pool “${body.title as string}” was saved.`,
    );
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
        {LABEL_OF[name] ?? name} {issues[name]}
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
            Please correct the {Object.keys(issues).length === 1 ? 'field' : 'fields'} marked below.
          </p>
        )}
        {show('name') && (
          <div className="form-field">
            <label htmlFor={`${id}-name`}>Name (id)</label>
            <input {...field('name')} value={values.name} readOnly={mode !== 'create'} onChange={(e) => setValues({ ...values, name: e.target.value })} />
            {errorOf('name', mode === 'create' ? 'lowercase letters, digits and dashes' : 'a pool cannot be renamed')}
          </div>
        )}
        {show('title') && (
          <div className="form-field">
            <label htmlFor={`${id}-title-field`}>Title</label>
            <input
              {...field('title')}
              id={`${id}-title-field`}
              value={values.title}
              onChange={(e) => setValues({ ...values, title: e.target.value })}
            />
            {errorOf('title', 'what people see')}
          </div>
        )}
        {show('kind') && (
          <div className="form-field">
            <label htmlFor={`${id}-kind`}>Kind</label>
            <select {...field('kind')} value={values.kind} onChange={(e) => setValues({ ...values, kind: e.target.value })}>
              <option value="persistent">Persistent: each person keeps their desktop and disk</option>
              <option value="stateless">Stateless: a fresh copy each time</option>
            </select>
            {errorOf('kind')}
          </div>
        )}
        {show('template') && (
          <div className="form-field">
            <label htmlFor={`${id}-template`}>Template</label>
            <select
              {...field('template')}
              value={values.templateKind}
              onChange={(e) => setValues({ ...values, templateKind: e.target.value === 'custom' ? 'custom' : 'demo' })}
            >
              <option value="demo">demo (the bundled guest)</option>
              <option value="custom">A disk image (JSON)</option>
            </select>
            {values.templateKind === 'custom' && (
              <>
                <label htmlFor={`${id}-template-json`} className="sub-label">
                  Template as JSON: baseImage, kernel, initrd, kernelArgs, readiness
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
              <label htmlFor={`${id}-${name}`}>{LABELS[name].label}</label>
              <input
                {...field(name)}
                type="number"
                inputMode="numeric"
                value={values.numbers[name]}
                onChange={(e) => setValues({ ...values, numbers: { ...values.numbers, [name]: e.target.value } })}
              />
              {errorOf(name, LABELS[name].hint)}
            </div>
          ))}
        </div>
        {show('onIdle') && (
          <div className="form-field">
            <label htmlFor={`${id}-onIdle`}>When a persistent desktop is idle</label>
            <select {...field('onIdle')} value={values.onIdle} onChange={(e) => setValues({ ...values, onIdle: e.target.value })}>
              <option value="keep">Keep it running</option>
              <option value="shutdown">Shut it down (its disk is kept)</option>
            </select>
            {errorOf('onIdle', 'stateless desktops are always discarded')}
          </div>
        )}
        {show('instant') && (
          <div className="form-field">
            <label htmlFor={`${id}-instant`}>How new desktops start</label>
            <select {...field('instant')} value={values.instant} onChange={(e) => setValues({ ...values, instant: e.target.value as Values['instant'] })}>
              <option value="true">Instantly, as clones of the template’s saved state</option>
              <option value="false">By booting each one</option>
            </select>
            {errorOf('instant', 'a shut-down persistent desktop always boots from its own disk')}
          </div>
        )}
        <div className="dialog-buttons">
          <button type="button" className="button secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Saving…' : mode === 'create' ? 'Create pool' : 'Save'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** How an error names its field ("Max size must be at least 1"). */
const LABEL_OF: Record<string, string> = {
  name: 'The name',
  title: 'The title',
  kind: 'The kind',
  template: 'The template',
  onIdle: 'This',
  instant: 'This',
  memoryMiB: 'Memory',
  vcpus: 'vCPUs',
  spares: 'Spares',
  maxSize: 'Max size',
  maxPerUser: 'Desktops per person',
  graceMinutes: 'The grace time',
  idleMinutes: 'The idle time',
};
