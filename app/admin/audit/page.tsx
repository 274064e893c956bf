/**
 * The audit log, for admins: who did what to which target and when (sign-ins, consoles,
 * power actions, helpdesk actions with their reasons, pool changes, KSM), newest first, 50 a
 * page, with filters (who, action, target, time range in UTC) in the URL and a CSV download of
 * everything the filters match.
 */
import Link from 'next/link';
import { getTimeZone, getTranslations } from 'next-intl/server';
import { AdminNav } from '@/components/admin/AdminNav';
import { When } from '@/components/admin/Figures';
import { Pager } from '@/components/admin/Pager';
import { TopBar } from '@/components/TopBar';
import { requireRole } from '@/lib/auth';
import { type AuditFilter, auditActions, auditFilterFromParams, auditPage } from '@/lib/audit';

export const dynamic = 'force-dynamic';
export async function generateMetadata() {
  return { title: (await getTranslations('Audit'))('metaTitle') };
}

/** "2026-11-30T10:15" for a datetime-local field, in UTC. */
const forInput = (at: number | undefined) => (at === undefined ? '' : new Date(at).toISOString().slice(0, 16));

function queryOf(filter: AuditFilter, page?: number): string {
  const params = new URLSearchParams();
  if (filter.who) params.set('who', filter.who);
  if (filter.action) params.set('action', filter.action);
  if (filter.target) params.set('target', filter.target);
  if (filter.from !== undefined) params.set('from', forInput(filter.from));
  if (filter.to !== undefined) params.set('to', forInput(filter.to));
  if (page && page > 1) params.set('page', String(page));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The detail column: JSON details as "key: value" pairs, the reason first. */
function detailText(detail: string | null): string {
  if (!detail) return '';
  try {
    const value = JSON.parse(detail) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a === 'reason' ? -1 : b === 'reason' ? 1 : 0));
      return entries.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
    }
  } catch {
    // Not JSON: shown as it is.
  }
  return detail;
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireRole('admin');
  const { filter, ignored } = auditFilterFromParams(await searchParams);
  const [{ entries, total, page, pages }, actions] = await Promise.all([auditPage(filter), auditActions()]);
  const now = Date.now();
  const t = await getTranslations('Audit');
  const zone = await getTimeZone();
  const filtered = Boolean(filter.who || filter.action || filter.target || filter.from !== undefined || filter.to !== undefined);
  return (
    <>
      <TopBar user={user} />
      <AdminNav user={user} current="audit" />
      <main className="page wide">
        <h1>{t('title')}</h1>
        <form className="filters" action="/admin/audit" method="get" aria-label={t('filters')}>
          <label>
            {t('who')}
            <input name="who" type="search" defaultValue={filter.who ?? ''} placeholder={t('whoPlaceholder')} maxLength={200} />
          </label>
          <label>
            {t('action')}
            <select name="action" defaultValue={filter.action ?? ''}>
              <option value="">{t('anyAction')}</option>
              {actions.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('target')}
            <input name="target" type="search" defaultValue={filter.target ?? ''} placeholder={t('targetPlaceholder')} maxLength={200} />
          </label>
          <label>
            {t('from')}
            <input name="from" type="datetime-local" defaultValue={forInput(filter.from)} />
          </label>
          <label>
            {t('to')}
            <input name="to" type="datetime-local" defaultValue={forInput(filter.to)} />
          </label>
          <button type="submit" className="button small">
            {t('filter')}
          </button>
          {filtered && (
            <Link className="button secondary small" href="/admin/audit">
              {t('clear')}
            </Link>
          )}
          <a className="button secondary small" href={`/api/admin/audit/export${queryOf(filter)}`} download>
            {t('csv')}
          </a>
        </form>
        {ignored.length > 0 && (
          <p role="alert" className="error">
            {t('ignored', { names: ignored.join(', ') })}
          </p>
        )}
        <p className="meta" role="status" aria-label={t('shown')}>
          {total === 0 ? t('noEntry') : t('count', { total, page, pages, zone })}
        </p>
        {entries.length > 0 && (
          <table className="data-table compact">
            <thead>
              <tr>
                <th scope="col">{t('time')}</th>
                <th scope="col">{t('who')}</th>
                <th scope="col">{t('action')}</th>
                <th scope="col">{t('target')}</th>
                <th scope="col">{t('detail')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>
                    <When at={e.at} now={now} />
                  </td>
                  <td>{e.actor ?? '–'}</td>
                  <th scope="row">{e.action}</th>
                  <td className="mono">{e.target ?? '–'}</td>
                  <td className="detail">{detailText(e.detail)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager label={t('pages')} page={page} pages={pages} hrefOf={(p) => `/admin/audit${queryOf(filter, p)}`} previous={t('newer')} next={t('older')} />
        <p className="meta">
          {t('rendered')} <When at={now} now={now} />.
        </p>
      </main>
    </>
  );
}
