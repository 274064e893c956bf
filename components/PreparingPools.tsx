/**
 * Pools still being prepared (the demo's Desktop pool while its template builds, a few minutes
 * the first time): one card each with a progress bar, the step in words ("Step 3 of 6") and
 * the build's own note, and what happens next. Shown on My desktops and, live, on the admin
 * pool page; a build that failed says so.
 */
import { useTranslations } from 'next-intl';
import type { PreparingPoolView } from '@/lib/desktops';

export function PreparingPools({ pools }: { pools: PreparingPoolView[] }) {
  const t = useTranslations('Preparing');
  if (pools.length === 0) return null;
  return (
    <ul className="cards" style={{ listStyle: 'none', padding: 0 }} aria-label={t('listLabel')}>
      {pools.map((pool) => (
        <li key={pool.name} className="card" aria-label={pool.title}>
          <h2>{pool.title}</h2>
          {pool.state === 'failed' ? (
            <>
              <p>
                <span className="badge failed">{t('failedBadge')}</span>
              </p>
              <p className="error">{t('failed')}</p>
            </>
          ) : (
            <>
              <p>
                <span className="badge">{t('badge')}</span>
              </p>
              <progress className="preparing-progress" max={pool.steps} value={pool.step} aria-label={t('progressLabel', { pool: pool.title })} />
              <p className="meta" role="status">
                {pool.step === 0 ? t('starting') : t('step', { step: pool.step, steps: pool.steps })}
                {pool.step > 0 && pool.doing && <span className="preparing-doing"> · {pool.doing}</span>}
              </p>
              <p className="meta">{t('next')}</p>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
