'use client';
/**
 * On My desktops, under a desktop nobody has open: when the pool's disconnect policy will take
 * it ("Shuts down in 12 minutes unless you reopen it"; a stateless one "is discarded", with
 * "Your changes will be discarded"). Counts down by itself and refreshes the page once the time
 * is up, so the card then shows the desktop's new state.
 */
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';

export function GraceNotice({ at, stateless }: { at: number; stateless: boolean }) {
  const router = useRouter();
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
  const when = minutes === 0 ? 'in less than a minute' : `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return (
    <p className="grace-notice">
      {stateless ? `Discarded ${when} unless you reopen it. Your changes will be discarded.` : `Shuts down ${when} unless you reopen it.`}
    </p>
  );
}
