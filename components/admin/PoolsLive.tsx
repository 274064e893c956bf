'use client';
/**
 * The admin pool page, live: it asks /api/admin/overview for the host, the pools and one page
 * of desktops every 2 s and redraws (no reload; the filters and page live in the URL so a
 * reload or a shared link shows the same view). Pools can be created, edited, resized, drained
 * and deleted; desktops recycled; template versions published and rolled back (instant
 * desktops: the snapshot's state and what an extra clone costs in memory). With 1,000 desktops only one page of 50 is ever fetched,
 * filtered on the server by pool, state and person.
 */
import { useTranslations } from 'next-intl';
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import type { AdminOverview, DesktopFilter, PoolDefinition, PoolRow } from '@/lib/admin';
import { ReasonDialog, usePostJson } from '../helpdesk/ReasonDialog';
import { StaffNotices, announce } from '../helpdesk/StaffNotice';
import { DESKTOP_STATES, Duration, MiB, Percent, StateBadge, UnreachableBadge, When, useStateWords } from './Figures';
import { HostPanel } from './HostPanel';
import { PreparingPools } from '../PreparingPools';
import { PoolForm, type PoolFormMode } from './PoolForm';

const POLL_MS = 2000;

function queryOf(filter: DesktopFilter): string {
  const params = new URLSearchParams();
  if (filter.pool) params.set('pool', filter.pool);
  if (filter.state) params.set('state', filter.state);
  if (filter.user) params.set('user', filter.user);
  if (filter.page && filter.page > 1) params.set('page', String(filter.page));
  return params.toString();
}

type Words = ReturnType<typeof useTranslations<'AdminPools'>>;

type Confirm =
  | { kind: 'drain'; pool: PoolDefinition; draining: boolean }
  | { kind: 'delete'; pool: PoolDefinition }
  | { kind: 'publish'; pool: PoolDefinition; version: number }
  | { kind: 'roll-back'; pool: PoolDefinition; version: number }
  | { kind: 'recycle'; desktopId: string; owner: string | null };

export function PoolsLive({ initial }: { initial: AdminOverview }) {
  const [data, setData] = useState(initial);
  const [filter, setFilter] = useState<DesktopFilter>(initial.filter);
  const [userText, setUserText] = useState(initial.filter.user ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  const t = useTranslations('AdminPools');
  const stateWords = useStateWords();
  const postJson = usePostJson();
  const [form, setForm] = useState<{ mode: PoolFormMode; pool?: PoolDefinition } | null>(null);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const filterRef = useRef(filter);
  const stopped = useRef(false);

  const refresh = useCallback(async () => {
    const query = queryOf(filterRef.current);
    const response = await fetch(`/api/admin/overview${query ? `?${query}` : ''}`, { cache: 'no-store' }).catch(() => null);
    if (query !== queryOf(filterRef.current)) return; // the filters changed meanwhile; that answer is stale
    if (!response) {
      setProblem(t('problem.unreachable'));
      return;
    }
    if (response.status === 401 || response.status === 403) {
      stopped.current = true;
      setProblem(t('problem.signedOut'));
      return;
    }
    if (!response.ok) {
      setProblem(t('problem.status', { status: response.status }));
      return;
    }
    setProblem(null);
    setData((await response.json()) as AdminOverview);
  }, [t]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let active = true;
    const loop = async () => {
      if (!document.hidden) await refresh();
      if (active && !stopped.current) timer = setTimeout(() => void loop(), POLL_MS);
    };
    timer = setTimeout(() => void loop(), POLL_MS);
    return () => {
      active = false;
      clearTimeout(timer);
    };
  }, [refresh]);

  function applyFilter(next: DesktopFilter) {
    filterRef.current = next;
    setFilter(next);
    const query = queryOf(next);
    window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
    void refresh();
  }

  function submitUser(event: FormEvent) {
    event.preventDefault();
    applyFilter({ ...filter, user: userText.trim() || undefined, page: undefined });
  }

  async function runConfirm(reason: string): Promise<string | null> {
    if (!confirm) return null;
    let result: { error: string | null };
    let said: string;
    if (confirm.kind === 'drain') {
      result = await postJson(`/api/admin/pools/${encodeURIComponent(confirm.pool.name)}/drain`, { draining: confirm.draining, reason });
      said = confirm.draining ? t('done.drained', { pool: confirm.pool.title }) : t('done.opened', { pool: confirm.pool.title });
    } else if (confirm.kind === 'delete') {
      result = await postJson(`/api/admin/pools/${encodeURIComponent(confirm.pool.name)}`, { reason }, 'DELETE');
      said = t('done.deleted', { pool: confirm.pool.title });
    } else if (confirm.kind === 'publish' || confirm.kind === 'roll-back') {
      result = await postJson(`/api/admin/pools/${encodeURIComponent(confirm.pool.name)}/template`, { action: confirm.kind, reason });
      said =
        confirm.kind === 'publish'
          ? t('done.publishing', { version: confirm.version, pool: confirm.pool.title })
          : t('done.rolledBack', { version: confirm.version, pool: confirm.pool.title });
    } else {
      result = await postJson(`/api/admin/desktops/${encodeURIComponent(confirm.desktopId)}/recycle`, { reason });
      said = t('done.recycled', { id: confirm.desktopId });
    }
    if (result.error) return result.error;
    setConfirm(null);
    announce(said);
    void refresh();
    return null;
  }

  const { host, pools, desktops } = data;
  const now = data.at;
  const confirmWords = confirmText(confirm, t);

  return (
    <>
      <p className="updated" aria-live="off">
        {t('live')} <When at={data.at} now={data.at} />
      </p>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <StaffNotices />
      <HostPanel host={host} onKsm={(ksm) => setData({ ...data, host: { ...host, ksm } })} />

      <section aria-labelledby="pools-title" className="panel">
        <div className="panel-head">
          <h2 id="pools-title">{t('pools')}</h2>
          <button type="button" className="button" onClick={() => setForm({ mode: 'create' })}>
            {t('newPool')}
          </button>
        </div>
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">{t('pool')}</th>
              <th scope="col">{t('kind')}</th>
              <th scope="col">{t('sizeMax')}</th>
              <th scope="col">{t('sparesReady')}</th>
              <th scope="col">{t('starting')}</th>
              <th scope="col">{t('assigned')}</th>
              <th scope="col">{t('failed')}</th>
              <th scope="col">{t('template')}</th>
              <th scope="col">{t('actions')}</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((row) => (
              <PoolLine
                key={row.definition.name}
                row={row}
                onEdit={(mode) => setForm({ mode, pool: row.definition })}
                onConfirm={setConfirm}
                onShow={() => applyFilter({ pool: row.definition.name })}
                now={now}
              />
            ))}
          </tbody>
        </table>
        {pools.length === 0 && <p>{t('noPool')}</p>}
        <PreparingPools pools={data.preparing} />
      </section>

      <section aria-labelledby="desktops-title" className="panel">
        <h2 id="desktops-title">{t('desktops')}</h2>
        <div className="filters" role="group" aria-label={t('filterDesktops')}>
          <label>
            {t('pool')}
            <select value={filter.pool ?? ''} onChange={(e) => applyFilter({ ...filter, pool: e.target.value || undefined, page: undefined })}>
              <option value="">{t('allPools')}</option>
              {pools.map((p) => (
                <option key={p.definition.name} value={p.definition.name}>
                  {p.definition.title} ({p.definition.name})
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('state')}
            <select
              value={filter.state ?? ''}
              onChange={(e) => applyFilter({ ...filter, state: (e.target.value || undefined) as DesktopFilter['state'], page: undefined })}
            >
              <option value="">{t('anyState')}</option>
              {DESKTOP_STATES.map((s) => (
                <option key={s} value={s}>
                  {stateWords(s)}
                </option>
              ))}
            </select>
          </label>
          <form onSubmit={submitUser} className="inline-form">
            <label htmlFor="desktop-user-filter">{t('person')}</label>
            <input
              id="desktop-user-filter"
              type="search"
              value={userText}
              placeholder={t('personPlaceholder')}
              maxLength={100}
              onChange={(e) => setUserText(e.target.value)}
            />
            <button type="submit" className="button secondary small">
              {t('filter')}
            </button>
          </form>
          {(filter.pool || filter.state || filter.user) && (
            <button
              type="button"
              className="button secondary small"
              onClick={() => {
                setUserText('');
                applyFilter({});
              }}
            >
              {t('showAll')}
            </button>
          )}
        </div>
        <p className="meta" role="status" aria-label={t('desktopsShown')}>
          {desktops.total === 0
            ? t('noDesktop')
            : t('desktopCount', { total: desktops.total, page: desktops.page, pages: desktops.pages })}
        </p>
        {desktops.rows.length > 0 && (
          <div className="table-scroll">
            <table className="data-table compact">
              <thead>
                <tr>
                  <th scope="col">{t('desktop')}</th>
                  <th scope="col">{t('pool')}</th>
                  <th scope="col">{t('state')}</th>
                  <th scope="col">{t('person')}</th>
                  <th scope="col">{t('upFor')}</th>
                  <th scope="col">{t('cpu')}</th>
                  <th scope="col">{t('memory')}</th>
                  <th scope="col">{t('spicePort')}</th>
                  <th scope="col">{t('template')}</th>
                  <th scope="col">{t('accel')}</th>
                  <th scope="col">{t('host')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {desktops.rows.map((d) => (
                  <tr key={d.id} aria-label={t('desktopRow', { id: d.id })}>
                    <th scope="row" className="mono">
                      {d.id}
                    </th>
                    <td>{d.pool}</td>
                    <td>
                      <StateBadge state={d.state} />
                      {d.unreachable && <UnreachableBadge />}
                      {d.failureReason && (
                        <span className="sub error-text" title={d.failureReason}>
                          {d.failureReason.slice(0, 80)}
                        </span>
                      )}
                    </td>
                    <td>{d.user ? d.user.displayName : <span className="muted">{t('spare')}</span>}</td>
                    <td>{d.upSince ? <Duration ms={now - d.upSince} /> : '–'}</td>
                    <td>
                      {d.cpuPercent === null ? '–' : <Percent value={d.cpuPercent} />}
                      {d.vcpus !== null && <span className="sub">{t('ofVcpus', { count: d.vcpus })}</span>}
                    </td>
                    <td>
                      {d.residentBytes === null ? '–' : <MiB bytes={d.residentBytes} />}
                      {d.memoryMiB !== null && <span className="sub">{t('ofMiB', { count: d.memoryMiB })}</span>}
                    </td>
                    <td>{d.spicePort ?? '–'}</td>
                    <td>
                      {d.templateVersion === null ? '–' : `v${d.templateVersion}`}
                      {d.olderTemplate && <span className="sub">{t('olderTemplate')}</span>}
                    </td>
                    <td>{d.accelerator?.toUpperCase() ?? '–'}</td>
                    <td>{d.host}</td>
                    <td>
                      {d.state !== 'gone' && (
                        <button
                          type="button"
                          className="button secondary small"
                          onClick={() => setConfirm({ kind: 'recycle', desktopId: d.id, owner: d.user?.displayName ?? null })}
                        >
                          {t('recycle')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {desktops.pages > 1 && (
          <nav className="pager" aria-label={t('desktopPages')}>
            <button
              type="button"
              className="button secondary small"
              disabled={desktops.page <= 1}
              onClick={() => applyFilter({ ...filter, page: desktops.page - 1 })}
            >
              {t('previousPage')}
            </button>
            <span>{t('pageOf', { page: desktops.page, pages: desktops.pages })}</span>
            <button
              type="button"
              className="button secondary small"
              disabled={desktops.page >= desktops.pages}
              onClick={() => applyFilter({ ...filter, page: desktops.page + 1 })}
            >
              {t('nextPage')}
            </button>
          </nav>
        )}
      </section>

      <PoolForm
        key={`${form?.mode ?? 'none'}-${form?.pool?.name ?? ''}`}
        open={form !== null}
        mode={form?.mode ?? 'create'}
        pool={form?.pool}
        onClose={() => setForm(null)}
        onSaved={() => void refresh()}
      />
      <ReasonDialog
        open={confirm !== null}
        title={confirmWords.title}
        message={confirmWords.message}
        confirmLabel={confirmWords.label}
        onConfirm={runConfirm}
        onCancel={() => setConfirm(null)}
      />
    </>
  );
}

function confirmText(confirm: Confirm | null, t: Words): { title: string; message: string; label: string } {
  if (!confirm) return { title: '', message: '', label: '' };
  if (confirm.kind === 'drain') {
    const pool = confirm.pool.title;
    return confirm.draining
      ? { title: t('confirm.drainTitle', { pool }), message: t('confirm.drainMessage'), label: t('drain') }
      : { title: t('confirm.openTitle', { pool }), message: t('confirm.openMessage'), label: t('openAgain') };
  }
  if (confirm.kind === 'publish') {
    return {
      title: t('confirm.publishTitle', { version: confirm.version, pool: confirm.pool.title }),
      message: t('confirm.publishMessage'),
      label: t('confirm.publish'),
    };
  }
  if (confirm.kind === 'roll-back') {
    return {
      title: t('confirm.rollBackTitle', { version: confirm.version, pool: confirm.pool.title }),
      message: t('confirm.rollBackMessage'),
      label: t('rollBack'),
    };
  }
  if (confirm.kind === 'delete') {
    return { title: t('confirm.deleteTitle', { pool: confirm.pool.title }), message: t('confirm.deleteMessage'), label: t('confirm.deletePool') };
  }
  return {
    title: t('confirm.recycleTitle', { id: confirm.desktopId }),
    message: confirm.owner ? t('confirm.recycleMessageOwner', { owner: confirm.owner }) : t('confirm.recycleMessage'),
    label: t('recycle'),
  };
}

function PoolLine({
  row,
  onEdit,
  onConfirm,
  onShow,
  now,
}: {
  row: PoolRow;
  now: number;
  onEdit: (mode: PoolFormMode) => void;
  onConfirm: (confirm: Confirm) => void;
  onShow: () => void;
}) {
  const p = row.definition;
  const t = useTranslations('AdminPools');
  return (
    <tr aria-label={t('poolRow', { name: p.name })}>
      <th scope="row">
        <button type="button" className="link-button" onClick={onShow} title={t('showPool')}>
          {p.title}
        </button>
        <span className="sub mono">{p.name}</span>
        {p.draining && <span className="badge failed spaced">{t('draining')}</span>}
      </th>
      <td>{p.kind === 'persistent' || p.kind === 'stateless' ? t(`kinds.${p.kind}`) : p.kind}</td>
      <td>
        {row.size} / {p.maxSize}
      </td>
      <td aria-label={t('sparesReady')}>
        {row.sparesReady} <span className="sub">{t('sparesOf', { count: p.spares })}</span>
      </td>
      <td>{row.starting}</td>
      <td>{row.assigned}</td>
      <td>{row.failed}</td>
      <td>
        <TemplateCell row={row} now={now} />
      </td>
      <td>
        <div className="row-actions">
          <button type="button" className="button secondary small" onClick={() => onEdit('edit')}>
            {t('edit')}
          </button>
          <button type="button" className="button secondary small" onClick={() => onEdit('resize')}>
            {t('resize')}
          </button>
          <button type="button" className="button secondary small" onClick={() => onConfirm({ kind: 'drain', pool: p, draining: !p.draining })}>
            {p.draining ? t('openAgain') : t('drain')}
          </button>
          <button type="button" className="button secondary small" onClick={() => onConfirm({ kind: 'delete', pool: p })}>
            {t('delete')}
          </button>
          {row.template && (
            <>
              <button
                type="button"
                className="button secondary small"
                disabled={row.template.busy}
                onClick={() => onConfirm({ kind: 'publish', pool: p, version: Math.max(...row.template!.versions.map((v) => v.version)) + 1 })}
              >
                {t('publishNew')}
              </button>
              <button
                type="button"
                className="button secondary small"
                disabled={row.template.busy || previousVersion(row) === undefined}
                onClick={() => onConfirm({ kind: 'roll-back', pool: p, version: previousVersion(row)! })}
              >
                {t('rollBack')}
              </button>
            </>
          )}
        </div>
      </td>
    </tr>
  );
}

/** The version a roll-back would go to: the newest ready one before the current. */
function previousVersion(row: PoolRow): number | undefined {
  const t = row.template;
  if (!t) return undefined;
  return t.versions.filter((v) => v.state === 'ready' && v.version < t.current).sort((a, b) => b.version - a.version)[0]?.version;
}

/** The pool's template: current version, its snapshot (instant desktops), and what clones cost. */
function TemplateCell({ row, now }: { row: PoolRow; now: number }) {
  const words = useTranslations('AdminPools');
  const t = row.template;
  if (!t) return <>–</>;
  const building = t.versions.find((v) => v.state === 'building');
  const snapshot = t.snapshot;
  return (
    <div aria-label={words('templateOf', { name: row.definition.name })}>
      v{t.current}
      {building && <span className="sub">{words('beingBuilt', { version: building.version })}</span>}
      {!row.definition.instant ? (
        <span className="sub">{words('eachBoots')}</span>
      ) : (
        snapshot && (
          <span className="sub" title={snapshot.reason}>
            {words(`snapshot.${snapshot.state}`)}
            {snapshot.state === 'ready' && snapshot.stateBytes !== undefined && (
              <>
                {' · '}
                <MiB bytes={snapshot.stateBytes} />
              </>
            )}
            {snapshot.createdAt !== undefined && (
              <>
                {' · '}
                <When at={snapshot.createdAt} now={now} />
              </>
            )}
          </span>
        )
      )}
      {row.cloneMemory && (
        <span className="sub">
          {words.rich('cloneMemory', {
            first: () => <MiB bytes={row.cloneMemory!.firstBytes} />,
            extra: () => <MiB bytes={row.cloneMemory!.extraBytes} />,
          })}
        </span>
      )}
    </div>
  );
}
