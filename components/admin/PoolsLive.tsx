'use client';
/**
 * The admin pool page, live: it asks /api/admin/overview for the host, the pools and one page
 * of desktops every 2 s and redraws (no reload; the filters and page live in the URL so a
 * reload or a shared link shows the same view). Pools can be created, edited, resized, drained
 * and deleted; desktops recycled; template versions published and rolled back (instant
 * desktops: the snapshot's state and what an extra clone costs in memory). With 1,000 desktops only one page of 50 is ever fetched,
 * filtered on the server by pool, state and person.
 */
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import type { AdminOverview, DesktopFilter, PoolDefinition, PoolRow } from '@/lib/admin';
import { ReasonDialog, postJson } from '../helpdesk/ReasonDialog';
import { StaffNotices, announce } from '../helpdesk/StaffNotice';
import { STATE_WORDS, StateBadge, formatDuration, formatMiB, formatPercent, formatTime } from './Figures';
import { HostPanel } from './HostPanel';
import { PoolForm, type PoolFormMode } from './PoolForm';

const POLL_MS = 2000;
const STATES = ['provisioning', 'booting', 'ready', 'assigned', 'stopping', 'stopped', 'failed', 'gone'] as const;

function queryOf(filter: DesktopFilter): string {
  const params = new URLSearchParams();
  if (filter.pool) params.set('pool', filter.pool);
  if (filter.state) params.set('state', filter.state);
  if (filter.user) params.set('user', filter.user);
  if (filter.page && filter.page > 1) params.set('page', String(filter.page));
  return params.toString();
}

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
  const [form, setForm] = useState<{ mode: PoolFormMode; pool?: PoolDefinition } | null>(null);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const filterRef = useRef(filter);
  const stopped = useRef(false);

  const refresh = useCallback(async () => {
    const query = queryOf(filterRef.current);
    const response = await fetch(`/api/admin/overview${query ? `?${query}` : ''}`, { cache: 'no-store' }).catch(() => null);
    if (query !== queryOf(filterRef.current)) return; // the filters changed meanwhile; that answer is stale
    if (!response) {
      setProblem('Floe cannot be reached; the figures below may be old. Trying again…');
      return;
    }
    if (response.status === 401 || response.status === 403) {
      stopped.current = true;
      setProblem('Your sign-in has ended (or is no longer an admin). Sign in again to see live figures.');
      return;
    }
    if (!response.ok) {
      setProblem(`Floe answered ${response.status}; trying again…`);
      return;
    }
    setProblem(null);
    setData((await response.json()) as AdminOverview);
  }, []);

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
      said = confirm.draining ? `“${confirm.pool.title}” is draining.` : `“${confirm.pool.title}” gives out desktops again.`;
    } else if (confirm.kind === 'delete') {
      result = await postJson(`/api/admin/pools/${encodeURIComponent(confirm.pool.name)}`, { reason }, 'DELETE');
      said = `Pool “${confirm.pool.title}” was deleted.`;
    } else if (confirm.kind === 'publish' || confirm.kind === 'roll-back') {
      result = await postJson(`/api/admin/pools/${encodeURIComponent(confirm.pool.name)}/template`, { action: confirm.kind, reason });
      said =
        confirm.kind === 'publish'
          ? `Template version ${confirm.version} of “${confirm.pool.title}” is being built; spares are replaced when it is ready.`
          : `“${confirm.pool.title}” is going back to template version ${confirm.version}.`;
    } else {
      result = await postJson(`/api/admin/desktops/${encodeURIComponent(confirm.desktopId)}/recycle`, { reason });
      said = `Desktop ${confirm.desktopId} was recycled.`;
    }
    if (result.error) return result.error;
    setConfirm(null);
    announce(said);
    void refresh();
    return null;
  }

  const { host, pools, desktops } = data;
  const now = data.at;
  const confirmWords = confirmText(confirm);

  return (
    <>
      <p className="updated" aria-live="off">
        Live: updates every 2 s · last update {formatTime(data.at, data.at)}
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
          <h2 id="pools-title">Pools</h2>
          <button type="button" className="button" onClick={() => setForm({ mode: 'create' })}>
            New pool
          </button>
        </div>
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">Pool</th>
              <th scope="col">Kind</th>
              <th scope="col">Size / max</th>
              <th scope="col">Spares ready</th>
              <th scope="col">Starting</th>
              <th scope="col">Assigned</th>
              <th scope="col">Failed</th>
              <th scope="col">Template</th>
              <th scope="col">Actions</th>
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
              />
            ))}
          </tbody>
        </table>
        {pools.length === 0 && <p>No pool yet. Create one with “New pool”.</p>}
      </section>

      <section aria-labelledby="desktops-title" className="panel">
        <h2 id="desktops-title">Desktops</h2>
        <div className="filters" role="group" aria-label="Filter desktops">
          <label>
            Pool
            <select value={filter.pool ?? ''} onChange={(e) => applyFilter({ ...filter, pool: e.target.value || undefined, page: undefined })}>
              <option value="">All pools</option>
              {pools.map((p) => (
                <option key={p.definition.name} value={p.definition.name}>
                  {p.definition.title} ({p.definition.name})
                </option>
              ))}
            </select>
          </label>
          <label>
            State
            <select
              value={filter.state ?? ''}
              onChange={(e) => applyFilter({ ...filter, state: (e.target.value || undefined) as DesktopFilter['state'], page: undefined })}
            >
              <option value="">Any (but gone)</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {STATE_WORDS[s]}
                </option>
              ))}
            </select>
          </label>
          <form onSubmit={submitUser} className="inline-form">
            <label htmlFor="desktop-user-filter">Person</label>
            <input
              id="desktop-user-filter"
              type="search"
              value={userText}
              placeholder="name, or “spare”"
              maxLength={100}
              onChange={(e) => setUserText(e.target.value)}
            />
            <button type="submit" className="button secondary small">
              Filter
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
              Show all
            </button>
          )}
        </div>
        <p className="meta" role="status" aria-label="Desktops shown">
          {desktops.total === 0
            ? 'No desktop matches.'
            : `${desktops.total.toLocaleString('en')} desktop${desktops.total === 1 ? '' : 's'} · page ${desktops.page} of ${desktops.pages}`}
        </p>
        {desktops.rows.length > 0 && (
          <div className="table-scroll">
            <table className="data-table compact">
              <thead>
                <tr>
                  <th scope="col">Desktop</th>
                  <th scope="col">Pool</th>
                  <th scope="col">State</th>
                  <th scope="col">Person</th>
                  <th scope="col">Up for</th>
                  <th scope="col">CPU</th>
                  <th scope="col">Memory</th>
                  <th scope="col">SPICE port</th>
                  <th scope="col">Template</th>
                  <th scope="col">Accel.</th>
                  <th scope="col">Host</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {desktops.rows.map((d) => (
                  <tr key={d.id} aria-label={`Desktop ${d.id}`}>
                    <th scope="row" className="mono">
                      {d.id}
                    </th>
                    <td>{d.pool}</td>
                    <td>
                      <StateBadge state={d.state} />
                      {d.failureReason && (
                        <span className="sub error-text" title={d.failureReason}>
                          {d.failureReason.slice(0, 80)}
                        </span>
                      )}
                    </td>
                    <td>{d.user ? d.user.displayName : <span className="muted">spare</span>}</td>
                    <td>{d.upSince ? formatDuration(now - d.upSince) : '–'}</td>
                    <td>
                      {d.cpuPercent === null ? '–' : formatPercent(d.cpuPercent)}
                      {d.vcpus !== null && <span className="sub">of {d.vcpus} vCPU</span>}
                    </td>
                    <td>
                      {d.residentBytes === null ? '–' : formatMiB(d.residentBytes)}
                      {d.memoryMiB !== null && <span className="sub">of {d.memoryMiB} MiB</span>}
                    </td>
                    <td>{d.spicePort ?? '–'}</td>
                    <td>
                      {d.templateVersion === null ? '–' : `v${d.templateVersion}`}
                      {d.olderTemplate && <span className="sub">older template</span>}
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
                          Recycle
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
          <nav className="pager" aria-label="Desktop pages">
            <button
              type="button"
              className="button secondary small"
              disabled={desktops.page <= 1}
              onClick={() => applyFilter({ ...filter, page: desktops.page - 1 })}
            >
              Previous page
            </button>
            <span>
              Page {desktops.page} of {desktops.pages}
            </span>
            <button
              type="button"
              className="button secondary small"
              disabled={desktops.page >= desktops.pages}
              onClick={() => applyFilter({ ...filter, page: desktops.page + 1 })}
            >
              Next page
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

function confirmText(confirm: Confirm | null): { title: string; message: string; label: string } {
  if (!confirm) return { title: '', message: '', label: '' };
  if (confirm.kind === 'drain') {
    return confirm.draining
      ? {
          title: `Drain “${confirm.pool.title}”?`,
          message: 'It gives no desktop to anyone who has none there yet and boots no spares. Desktops already given stay until recycled.',
          label: 'Drain',
        }
      : { title: `Open “${confirm.pool.title}” again?`, message: 'It gives out desktops and keeps its spares booted again.', label: 'Open again' };
  }
  if (confirm.kind === 'publish') {
    return {
      title: `Publish template version ${confirm.version} of “${confirm.pool.title}”?`,
      message:
        'Floe boots the pool’s template once and saves its state as the new version, then replaces spares with clones of it. Desktops people have are not touched; persistent ones keep their disks and show “older template”.',
      label: 'Publish',
    };
  }
  if (confirm.kind === 'roll-back') {
    return {
      title: `Roll “${confirm.pool.title}” back to template version ${confirm.version}?`,
      message: 'Spares are replaced with clones of that version. Desktops people have are not touched.',
      label: 'Roll back',
    };
  }
  if (confirm.kind === 'delete') {
    return {
      title: `Delete “${confirm.pool.title}”?`,
      message: 'The pool’s definition is removed. Only a pool without desktops can be deleted: recycle them first.',
      label: 'Delete pool',
    };
  }
  return {
    title: `Recycle desktop ${confirm.desktopId}?`,
    message: `Its VM is stopped and its disk deleted${confirm.owner ? `: ${confirm.owner} loses everything on it` : ''}. Spares are booted again to replace it.`,
    label: 'Recycle',
  };
}

function PoolLine({
  row,
  onEdit,
  onConfirm,
  onShow,
}: {
  row: PoolRow;
  onEdit: (mode: PoolFormMode) => void;
  onConfirm: (confirm: Confirm) => void;
  onShow: () => void;
}) {
  const p = row.definition;
  return (
    <tr aria-label={`Pool ${p.name}`}>
      <th scope="row">
        <button type="button" className="link-button" onClick={onShow} title="Show this pool's desktops">
          {p.title}
        </button>
        <span className="sub mono">{p.name}</span>
        {p.draining && <span className="badge failed spaced">Draining</span>}
      </th>
      <td>{p.kind}</td>
      <td>
        {row.size} / {p.maxSize}
      </td>
      <td aria-label="Spares ready">
        {row.sparesReady} <span className="sub">of {p.spares} wanted</span>
      </td>
      <td>{row.starting}</td>
      <td>{row.assigned}</td>
      <td>{row.failed}</td>
      <td>
        <TemplateCell row={row} />
      </td>
      <td>
        <div className="row-actions">
          <button type="button" className="button secondary small" onClick={() => onEdit('edit')}>
            Edit
          </button>
          <button type="button" className="button secondary small" onClick={() => onEdit('resize')}>
            Resize
          </button>
          <button type="button" className="button secondary small" onClick={() => onConfirm({ kind: 'drain', pool: p, draining: !p.draining })}>
            {p.draining ? 'Open again' : 'Drain'}
          </button>
          <button type="button" className="button secondary small" onClick={() => onConfirm({ kind: 'delete', pool: p })}>
            Delete
          </button>
          {row.template && (
            <>
              <button
                type="button"
                className="button secondary small"
                disabled={row.template.busy}
                onClick={() => onConfirm({ kind: 'publish', pool: p, version: Math.max(...row.template!.versions.map((v) => v.version)) + 1 })}
              >
                Publish new version
              </button>
              <button
                type="button"
                className="button secondary small"
                disabled={row.template.busy || previousVersion(row) === undefined}
                onClick={() => onConfirm({ kind: 'roll-back', pool: p, version: previousVersion(row)! })}
              >
                Roll back
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

const SNAPSHOT_WORDS = {
  none: 'no saved state yet',
  building: 'saving the template’s state…',
  ready: 'saved state ready',
  bad: 'saved state unusable; desktops boot',
  failed: 'saving the state failed; desktops boot',
} as const;

/** The pool's template: current version, its snapshot (instant desktops), and what clones cost. */
function TemplateCell({ row }: { row: PoolRow }) {
  const t = row.template;
  if (!t) return <>–</>;
  const building = t.versions.find((v) => v.state === 'building');
  const snapshot = t.snapshot;
  return (
    <div aria-label={`Template of ${row.definition.name}`}>
      v{t.current}
      {building && <span className="sub">v{building.version} being built</span>}
      {!row.definition.instant ? (
        <span className="sub">each desktop boots</span>
      ) : (
        snapshot && (
          <span className="sub" title={snapshot.reason}>
            {SNAPSHOT_WORDS[snapshot.state]}
            {snapshot.state === 'ready' && snapshot.stateBytes !== undefined && ` · ${formatMiB(snapshot.stateBytes)}`}
            {snapshot.createdAt !== undefined && ` · ${new Date(snapshot.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`}
          </span>
        )
      )}
      {row.cloneMemory && (
        <span className="sub">
          memory: first {formatMiB(row.cloneMemory.firstBytes)}, each extra ≈ {formatMiB(row.cloneMemory.extraBytes)}
        </span>
      )}
    </div>
  );
}
