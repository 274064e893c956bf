'use client';
/**
 * The changes an admin makes to one person on /admin/users/NAME: role, disable or enable,
 * unlock, reset password (the new one is shown once). Each calls the account route and
 * refreshes the page; refusals are shown in words beside the control.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useId, useState } from 'react';
import { type WordedAnswer, useApiWords } from '@/lib/api-words';
import type { UserChange } from '@/lib/users';
import { usePostJson } from '../helpdesk/ReasonDialog';
import { NewPassword } from './NewPassword';

export interface UserActionsProps {
  name: string;
  role: 'user' | 'helpdesk' | 'admin';
  disabled: boolean;
  locked: boolean;
  oidc: boolean;
}

export function UserActions({ name, role, disabled, locked, oidc }: UserActionsProps) {
  const id = useId();
  const router = useRouter();
  const t = useTranslations('UserActions');
  const staff = useTranslations('Staff');
  const postJson = usePostJson();
  const say = useApiWords();
  const [busy, setBusy] = useState(false);
  const [wantedRole, setWantedRole] = useState(role);
  const [result, setResult] = useState<{ ok: boolean; text: string; field?: string } | null>(null);
  const [password, setPassword] = useState<string | null>(null);

  async function run(change: UserChange) {
    setBusy(true);
    setResult(null);
    setPassword(null);
    const { error, body } = await postJson<WordedAnswer & { password?: string; issues?: { field: string }[] }>(
      `/api/admin/users/${encodeURIComponent(name)}`,
      change,
    );
    setBusy(false);
    if (!error) {
      setResult({ ok: true, text: say(body, staff('done')) });
      if (body?.password) setPassword(body.password);
      router.refresh();
    } else {
      setResult({ ok: false, text: error, field: body?.issues?.[0]?.field });
    }
  }

  const roleError = result && !result.ok && result.field === 'role';
  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('account')}</h2>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void run({ action: 'role', role: wantedRole });
        }}
      >
        <label htmlFor={`${id}-role`}>{t('role')}</label>
        <select
          id={`${id}-role`}
          value={wantedRole}
          onChange={(e) => setWantedRole(e.target.value as UserActionsProps['role'])}
          aria-invalid={roleError || undefined}
          aria-describedby={roleError ? `${id}-result` : undefined}
        >
          <option value="user">{staff('role.user')}</option>
          <option value="helpdesk">{staff('role.helpdesk')}</option>
          <option value="admin">{staff('role.admin')}</option>
        </select>
        <button type="submit" className="button small" disabled={busy || wantedRole === role}>
          {t('changeRole')}
        </button>
      </form>
      <div className="row-actions" style={{ marginTop: '0.75rem' }}>
        <button type="button" className="button small secondary" disabled={busy} onClick={() => void run({ action: disabled ? 'enable' : 'disable' })}>
          {disabled ? t('enable') : t('disable')}
        </button>
        <button type="button" className="button small secondary" disabled={busy || !locked} onClick={() => void run({ action: 'unlock' })}>
          {t('unlock')}
        </button>
        {!oidc && (
          <button type="button" className="button small secondary" disabled={busy} onClick={() => void run({ action: 'reset-password' })}>
            {t('resetPassword')}
          </button>
        )}
      </div>
      {result && (
        <p id={`${id}-result`} role={result.ok ? 'status' : 'alert'} className={result.ok ? 'staff-notice' : 'error'}>
          {result.text}
        </p>
      )}
      {password && <NewPassword name={name} password={password} />}
    </section>
  );
}
