'use client';
/**
 * "Add a person" on /admin/users: user name, display name and role. Floe makes the password and
 * shows it once; a refused field (a bad or taken name) is shown beside it.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useId, useState } from 'react';
import { type WordedAnswer, useApiWords } from '@/lib/api-words';
import { usePostJson } from '../helpdesk/ReasonDialog';
import { NewPassword } from './NewPassword';

type Field = 'name' | 'displayName' | 'role';

export function AddUserForm() {
  const id = useId();
  const router = useRouter();
  const t = useTranslations('AddUser');
  const staff = useTranslations('Staff');
  const postJson = usePostJson();
  const say = useApiWords();
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<Field | 'form', string>>>({});
  const [created, setCreated] = useState<{ name: string; password: string } | null>(null);

  async function submit(form: HTMLFormElement) {
    const data = new FormData(form);
    setBusy(true);
    setErrors({});
    setCreated(null);
    const { error, body } = await postJson<{ name?: string; password?: string; issues?: (WordedAnswer & { field: string; message: string })[] }>('/api/admin/users', {
      name: data.get('name'),
      displayName: data.get('displayName') || undefined,
      role: data.get('role'),
    });
    setBusy(false);
    if (!error && body?.name && body.password) {
      setCreated({ name: body.name, password: body.password });
      form.reset();
      router.refresh();
      return;
    }
    const next: Partial<Record<Field | 'form', string>> = {};
    for (const issue of body?.issues ?? []) if (['name', 'displayName', 'role'].includes(issue.field)) next[issue.field as Field] = say(issue, issue.message);
    if (Object.keys(next).length === 0) next.form = error ?? staff('unreachable');
    setErrors(next);
  }

  const described = (field: Field) => (errors[field] ? { 'aria-invalid': true, 'aria-describedby': `${id}-${field}-error` } : {});
  const errorOf = (field: Field) =>
    errors[field] && (
      <span id={`${id}-${field}-error`} className="field-error">
        {errors[field]}
      </span>
    );

  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('title')}</h2>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          void submit(event.currentTarget);
        }}
      >
        <label>
          {t('userName')}
          <input name="name" autoComplete="off" required {...described('name')} />
          {errorOf('name')}
        </label>
        <label>
          {t('displayName')}
          <input name="displayName" autoComplete="off" {...described('displayName')} />
          {errorOf('displayName')}
        </label>
        <label>
          {t('role')}
          <select name="role" defaultValue="user" {...described('role')}>
            <option value="user">{staff('role.user')}</option>
            <option value="helpdesk">{staff('role.helpdesk')}</option>
            <option value="admin">{staff('role.admin')}</option>
          </select>
          {errorOf('role')}
        </label>
        <button type="submit" className="button" disabled={busy}>
          {busy ? t('adding') : t('add')}
        </button>
      </form>
      {errors.form && (
        <p role="alert" className="error">
          {errors.form}
        </p>
      )}
      {created && <NewPassword name={created.name} password={created.password} />}
    </section>
  );
}
