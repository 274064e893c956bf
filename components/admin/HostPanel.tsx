'use client';
/**
 * The host panel of the admin pool page: CPUs and load, memory, and kernel samepage merging
 * (KSM): on or off, pages shared and sharing, the memory it saves (MiB, and % of the memory of
 * the desktops that run). An admin can switch KSM on or off and set how many pages it scans per
 * wake-up; when the host does not let Floe write /sys/kernel/mm/ksm the page says so plainly.
 */
import { useFormatter, useTranslations } from 'next-intl';
import { type FormEvent, useId, useState } from 'react';
import type { HostView, KsmStatus } from '@/lib/admin';
import { usePostJson } from '../helpdesk/ReasonDialog';
import { announce } from '../helpdesk/StaffNotice';
import { Bytes, MiB, Percent } from './Figures';

export function HostPanel({ host, onKsm }: { host: HostView; onKsm: (ksm: KsmStatus) => void }) {
  const id = useId();
  const t = useTranslations('Host');
  const staff = useTranslations('Staff');
  const format = useFormatter();
  const postJson = usePostJson();
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
      setError(problem ?? staff('noAnswer'));
      return;
    }
    onKsm(body.ksm);
    setReason('');
    announce(settings.running === undefined ? t('scansNow', { pages: body.ksm.pagesToScan }) : body.ksm.running ? t('isOn') : t('isOff'));
  }

  function setRate(event: FormEvent) {
    event.preventDefault();
    const n = Number(pages);
    if (!Number.isInteger(n) || n < 1 || n > 100_000) {
      setError(t('badPages'));
      return;
    }
    void change({ pagesToScan: n });
  }

  return (
    <section aria-labelledby={`${id}-title`} className="panel">
      <h2 id={`${id}-title`}>{t('title', { name: host.hostname })}</h2>
      <dl className="stat-grid">
        <div>
          <dt>{t('cpus')}</dt>
          <dd>
            {host.cpus} <span className="sub">{t('load', { load: host.loadAverage.map((l) => l.toFixed(2)).join(' ') })}</span>
          </dd>
        </div>
        <div>
          <dt>{t('memory')}</dt>
          <dd>
            <Bytes bytes={host.memoryTotalBytes} />{' '}
            <span className="sub">{t.rich('available', { bytes: () => <Bytes bytes={host.memoryAvailableBytes} /> })}</span>
          </dd>
        </div>
        <div>
          <dt>{t('guestMemory')}</dt>
          <dd>
            <MiB bytes={host.guestMemoryBytes} />
          </dd>
        </div>
        <div>
          <dt>{t('ksm')}</dt>
          <dd>{!ksm.available ? t('ksmUnavailable') : ksm.running ? t('on') : t('off')}</dd>
        </div>
        <div>
          <dt>{t('pages')}</dt>
          <dd>
            {format.number(ksm.pagesShared)} / {format.number(ksm.pagesSharing)}
          </dd>
        </div>
        <div>
          <dt>{t('saved')}</dt>
          <dd>
            <MiB bytes={ksm.savedBytes} />{' '}
            <span className="sub">{t.rich('savedOf', { percent: () => <Percent value={host.savedPercentOfGuest} digits={1} /> })}</span>
          </dd>
        </div>
        <div>
          <dt>{t('scanRate')}</dt>
          <dd>
            {t('scanRateValue', { pages: ksm.pagesToScan, ms: ksm.sleepMillis })}
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
            {t('switch')}
          </button>
          <form onSubmit={setRate} className="inline-form" noValidate>
            <label htmlFor={`${id}-pages`}>{t('pagesToScan')}</label>
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
              {t('setScanRate')}
            </button>
          </form>
          <div className="inline-form">
            <label htmlFor={`${id}-reason`}>{t('reason')}</label>
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
