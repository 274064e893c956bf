/**
 * "My desktop": the pools the person may use, each with their desktop's state and a button to
 * open it (which boots one when they have none yet).
 */
import { DesktopActions } from '@/components/DesktopActions';
import { DesktopsAutoRefresh } from '@/components/DesktopsAutoRefresh';
import { GraceNotice } from '@/components/GraceNotice';
import { OpenDesktopButton } from '@/components/OpenDesktopButton';
import { TopBar } from '@/components/TopBar';
import { requireUser } from '@/lib/auth';
import { type DesktopStage, poolOffers } from '@/lib/desktops';

export const dynamic = 'force-dynamic';

const STAGE_WORDS: Record<DesktopStage, string> = {
  starting: 'Starting',
  booting: 'Booting',
  ready: 'Running',
  stopping: 'Shutting down',
  stopped: 'Shut down',
  failed: 'Stopped with a problem',
};

export default async function DesktopsPage() {
  const user = await requireUser();
  const offers = await poolOffers(user);
  return (
    <>
      <TopBar user={user} />
      <main className="page">
        <h1>{offers.length === 1 ? 'My desktop' : 'My desktops'}</h1>
        <DesktopsAutoRefresh active={offers.some((o) => o.desktop && ['starting', 'booting', 'stopping'].includes(o.desktop.stage))} />
        {offers.length === 0 && <p>No desktop pool is open to you yet. Please ask the helpdesk.</p>}
        <ul className="cards" style={{ listStyle: 'none', padding: 0 }}>
          {offers.map((offer) => (
            <li key={offer.name} className="card" aria-label={offer.title}>
              <h2>{offer.title}</h2>
              <p className="meta">
                {offer.kind === 'persistent' ? 'Your own desktop, kept between visits' : 'A fresh desktop each time: your changes are discarded'}
                {' · '}
                {offer.memoryMiB} MiB, {offer.vcpus} vCPU
              </p>
              <p>
                <span className={`badge ${offer.desktop?.stage ?? ''}`}>
                  {offer.desktop ? STAGE_WORDS[offer.desktop.stage] : 'Not started'}
                </span>
              </p>
              {offer.desktop?.failureReason && <p className="error">{offer.desktop.failureReason}</p>}
              {offer.policyAt !== null && <GraceNotice at={offer.policyAt} stateless={offer.kind === 'stateless'} />}
              <OpenDesktopButton
                pool={offer.name}
                label={offer.desktop?.stage === 'failed' || offer.desktop?.stage === 'stopped' ? 'Start again' : 'Open desktop'}
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
      </main>
    </>
  );
}
