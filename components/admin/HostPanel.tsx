'use client';
/**
 * The host panel of the admin pool page: CPUs and load, memory, and kernel samepage merging
 * (KSM): on or off, pages shared and sharing, the memory it saves (MiB, and % of the memory of
 * the desktops that run). An admin can switch KSM on or off and set how many pages it scans per
 * wake-up; when the host does not let Floe write /sys/kernel/mm/ksm the page says so plainly.
 */
import { type FormEvent, useId, useState } from 'react';
import type { HostView, KsmStatus } from '@/lib/admin';
import { postJson } from '../helpdesk/ReasonDialog';
import { announce } from '../helpdesk/StaffNotice';
import { formatBytes, formatMiB, formatPercent } from './Figures';

export function HostPanel({ host, onKsm }: { host: HostView; onKsm: (ksm: KsmStatus) => void }) {
  const id = useId();
  const ksm = host.ksm;
  const [pages, setPages] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function change(settings: { running?: boolean; pagesToScan?: number }) {
    setBusy(true);
    setError(null);
    const { error: problem, body } = await postJson<{ ksm: KsmStatus }>('/api/admin/host/ksm', {
      ...settings,
      ...(reason.trim() ? { reason: reason.trim() } : {}),
    });
    setBusy(false);
    if (problem || !body) {
      setError(problem ?? 'Floe did not answer.');
      return;
    }
    onKsm(body.ksm);
    setReason('');
    announce(settings.running === undefined ? `KSM now scans ${body.ksm.pagesToScan} pages per wake-up.` : `KSM is ${body.ksm.running ? 'on' : 'off'}.`);
  }

  function setRate(event: FormEvent) {
    event.preventDefault();
    const n = Number(pages);
    if (!Number.isInteger(n) || n < 1 || n > 100_000) {
      setError('Pages to scan must be a whole number from 1 to 100000.');
      return;
    }
    void change({ pagesToScan: n });
  }

  return (
    <section aria-labelledby={`${id}-title`} className="panel">
      <h2 id={`${id}-title`}>Host {host.hostname}</h2>
      <dl className="stat-grid">
        <div>
          <dt>CPUs</dt>
          <dd>
            {host.cpus} <span className="sub">load {host.loadAverage.map((l) => l.toFixed(2)).join(' ')}</span>
          </dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>
            {formatBytes(host.memoryTotalBytes)} <span className="sub">{formatBytes(host.memoryAvailableBytes)} available</span>
          </dd>
        </div>
        <div>
          <dt>Desktops&apos; memory</dt>
          <dd>{formatMiB(host.guestMemoryBytes)}</dd>
        </div>
        <div>
          <dt>KSM</dt>
          <dd>{!ksm.available ? 'Not available on this host' : ksm.running ? 'On' : 'Off'}</dd>
        </div>
        <div>
          <dt>Pages shared / sharing</dt>
          <dd>
            {ksm.pagesShared.toLocaleString('en')} / {ksm.pagesSharing.toLocaleString('en')}
          </dd>
        </div>
        <div>
          <dt>Memory saved</dt>
          <dd>
            {formatMiB(ksm.savedBytes)} <span className="sub">{formatPercent(host.savedPercentOfGuest, 1)} of desktops&apos; memory</span>
          </dd>
        </div>
        <div>
          <dt>Scan rate</dt>
          <dd>
            {ksm.pagesToScan.toLocaleString('en')} pages every {ksm.sleepMillis} ms
          </dd>
        </div>
      </dl>
      {ksm.available && (
        <div className="ksm-controls">
          <button
            type="button"
            role="switch"
            aria-checked={ksm.running}
            className={`switch${ksm.running ? ' on' : ''}`}
            disabled={busy}
            onClick={() => void change({ running: !ksm.running })}
          >
            <span className="switch-track" aria-hidden="true" />
            Merge identical memory (KSM)
          </button>
          <form onSubmit={setRate} className="inline-form" noValidate>
            <label htmlFor={`${id}-pages`}>Pages to scan per wake-up</label>
            <input
              id={`${id}-pages`}
              type="number"
              min={1}
              max={100000}
              value={pages}
              placeholder={String(ksm.pagesToScan)}
              onChange={(e) => setPages(e.target.value)}
            />
            <button type="submit" className="button secondary small" disabled={busy || pages === ''}>
              Set scan rate
            </button>
          </form>
          <div className="inline-form">
            <label htmlFor={`${id}-reason`}>Reason (optional, for the audit log)</label>
            <input id={`${id}-reason`} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
          </div>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
