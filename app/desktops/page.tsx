/**
 * "My desktop": the pools the person may use, each with their desktop's state and a button to
 * open it (which boots one when they have none yet), and pools still being prepared with their
 * progress (the page refreshes itself meanwhile).
 */
import { getFormatter, getTranslations } from 'next-intl/server';
import { DesktopActions } from '@/components/DesktopActions';
import { DesktopsAutoRefresh } from '@/components/DesktopsAutoRefresh';
import { GraceNotice } from '@/components/GraceNotice';
import { OpenDesktopButton } from '@/components/OpenDesktopButton';
import { PreparingPools } from '@/components/PreparingPools';
import { TopBar } from '@/components/TopBar';
import { requireUser } from '@/lib/auth';
import { poolOffers, preparingPools } from '@/lib/desktops';

export const dynamic = 'force-dynamic';

export default async function DesktopsPage() {
  const user = await requireUser();
  const offers = await poolOffers(user);
  const preparing = preparingPools();
  const t = await getTranslations('Desktops');
  const format = await getFormatter();
  return (
    <>
      <TopBar user={user} />
      <main className="page">
        <h1>{offers.length === 1 ? t('titleOne') : t('titleMany')}</h1>
        <DesktopsAutoRefresh
          active={
            preparing.some((p) => p.state === 'building') ||
            offers.some((o) => o.desktop && (o.desktop.unreachable || ['starting', 'booting', 'stopping'].includes(o.desktop.stage)))
          }
        />
        {offers.length === 0 && preparing.length === 0 && <p>{t('none')}</p>}
        <ul className="cards" style={{ listStyle: 'none', padding: 0 }}>
          {offers.map((offer) => (
            <li key={offer.name} className="card" aria-label={offer.title}>
              <h2>{offer.title}</h2>
              <p className="meta">
                {offer.kind === 'persistent' ? t('persistent') : t('stateless')}
                {' · '}
                {t('size', { memory: offer.memoryMiB, vcpus: offer.vcpus })}
              </p>
              <p>
                {offer.desktop?.unreachable ? (
                  <span className="badge failed">{t('stage.unreachable')}</span>
                ) : (
                  <span className={`badge ${offer.desktop?.stage ?? ''}`}>{t(`stage.${offer.desktop?.stage ?? 'none'}`)}</span>
                )}
                {offer.desktop?.bootedAt && (
                  <span className="meta" style={{ marginLeft: '0.5rem' }}>
                    <time dateTime={new Date(offer.desktop.bootedAt).toISOString()}>
                      {format.dateTime(offer.desktop.bootedAt, { dateStyle: 'medium', timeStyle: 'short' })}
                    </time>
                  </span>
                )}
              </p>
              {offer.desktop?.unreachable && <p className="error">{t('unreachable')}</p>}
              {offer.desktop?.failureReason && <p className="error">{offer.desktop.failureReason}</p>}
              {offer.policyAt !== null && <GraceNotice at={offer.policyAt} stateless={offer.kind === 'stateless'} />}
              <OpenDesktopButton
                pool={offer.name}
                label={offer.desktop?.stage === 'failed' || offer.desktop?.stage === 'stopped' ? t('startAgain') : t('open')}
              />
              {offer.desktop && offer.desktop.stage !== 'stopping' && (
                <DesktopActions
                  desktopId={offer.desktop.id}
                  kind={offer.kind}
                  running={offer.desktop.stage === 'ready' || offer.desktop.stage === 'booting'}
                />
              )}
            </li>
          ))}
        </ul>
        <PreparingPools pools={preparing} />
      </main>
    </>
  );
}
