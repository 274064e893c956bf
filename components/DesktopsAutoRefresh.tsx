'use client';
/** Refreshes the server-rendered desktops page every few seconds while a desktop is changing state. */
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';

export function DesktopsAutoRefresh({ active }: { active: boolean }) {
  const router = useRouter();
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => router.refresh(), 1500);
    return () => clearInterval(timer);
  }, [active, router]);
  return null;
}
