'use client';
/**
 * On My desktops, under a desktop nobody has open: when the pool's disconnect policy will take
 * it ("Shuts down in 12 minutes unless you reopen it"; a stateless one "is discarded", with
 * "Your changes will be discarded"). Counts down by itself and refreshes the page once the time
 * is up, so the card then shows the desktop's new state.
 */
import { useTranslations } from 'next-intl';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';

export function GraceNotice({ at, stateless }: { at: number; stateless: boolean }) {
  const router = useRouter();
  const t = useTranslations('Desktops');
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      const time = Date.now();
      setNow(time);
      if (time > at + 2000) router.refresh();
    }, 1000);
    return () => clearInterval(timer);
  }, [at, router]);
  const minutes = Math.max(0, Math.ceil((at - now) / 60_000));
  return <p className="grace-notice">{t(stateless ? 'graceStateless' : 'gracePersistent', { minutes })}</p>;
}
