'use client';
/**
 * The desktop page's client: while the desktop boots it shows the steps (starting → booting →
 * connecting) with a progress bar; once the desktop is ready it gets a console ticket, loads
 * spice-html5 (dynamically: it touches `navigator` at import) and shows the screen scaled to
 * fill the window. The connection is opened in a deferred step so React StrictMode's
 * mount-unmount-mount does not open two consoles (SPICE's second login would kick the first),
 * and it is stopped when the page goes away.
 */
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { SpiceMainConn } from '@spice-project/spice-html5';
import type { DesktopStage, DesktopView } from '@/lib/desktops';

const SCREEN_ID = 'spice-screen';
const STEPS = ['Starting', 'Booting', 'Connecting', 'Ready'] as const;

type ConsoleState = 'waiting' | 'connecting' | 'connected' | 'lost';

function stepOf(stage: DesktopStage, console: ConsoleState): number {
  if (stage === 'starting') return 0;
  if (stage === 'booting') return 1;
  if (stage === 'ready') return console === 'connected' ? 3 : 2;
  return -1;
}

async function fetchDesktop(id: string): Promise<DesktopView | null> {
  const response = await fetch(`/api/desktops/${encodeURIComponent(id)}`, { cache: 'no-store' });
  if (!response.ok) return null;
  return ((await response.json()) as { desktop: DesktopView }).desktop;
}

export function DesktopConsole({ initial }: { initial: DesktopView }) {
  const [desktop, setDesktop] = useState(initial);
  const [consoleState, setConsoleState] = useState<ConsoleState>('waiting');
  const [problem, setProblem] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [startedAt] = useState(() => Date.now());
  const [now, setNow] = useState(() => Date.now());
  const stageRef = useRef<HTMLDivElement>(null);
  const screenRef = useRef<HTMLDivElement>(null);

  const booting = desktop.stage === 'starting' || desktop.stage === 'booting';
  const ready = desktop.stage === 'ready';

  // Follow the desktop's state: quickly while it boots, slowly while it runs (to notice failures).
  useEffect(() => {
    if (!booting && !ready) return;
    const timer = setInterval(
      () => {
        void fetchDesktop(desktop.id).then((d) => d && setDesktop(d));
        setNow(Date.now());
      },
      booting ? 400 : 3000,
    );
    return () => clearInterval(timer);
  }, [desktop.id, booting, ready]);

  // Connect the console once the desktop is ready.
  useEffect(() => {
    if (!ready) return;
    let cancelled = false;
    let connection: SpiceMainConn | undefined;
    const timer = setTimeout(async () => {
      setConsoleState('connecting');
      setProblem(null);
      try {
        const response = await fetch(`/api/desktops/${encodeURIComponent(desktop.id)}/console-ticket`, {
          method: 'POST',
          cache: 'no-store',
        });
        const body = (await response.json().catch(() => ({}))) as { path?: string; password?: string; error?: string };
        if (!response.ok || !body.path || !body.password) {
          throw new Error(body.error ?? `Floe could not open the console (${response.status}).`);
        }
        const spice = await import('@spice-project/spice-html5');
        if (cancelled) return;
        const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
        connection = new spice.SpiceMainConn({
          uri: `${scheme}://${window.location.host}${body.path}`,
          screen_id: SCREEN_ID,
          password: body.password,
          onsuccess: () => !cancelled && setConsoleState('connected'),
          onerror: () => {
            if (cancelled) return;
            setConsoleState('lost');
            setProblem('The connection to your desktop was lost.');
          },
        });
      } catch (error) {
        if (cancelled) return;
        setConsoleState('lost');
        setProblem(error instanceof Error ? error.message : String(error));
      }
    }, 0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
      try {
        connection?.stop();
      } catch {
        // spice-html5's stop() throws when its elements are already gone; the server closes the rest.
      }
      screenRef.current?.replaceChildren();
    };
  }, [desktop.id, ready, attempt]);

  // Scale the guest's screen to fill the window, keeping its aspect ratio. A CSS transform keeps
  // spice-html5's pointer coordinates right (offsetX/offsetY are in the canvas's own pixels).
  const fit = useCallback(() => {
    const stage = stageRef.current;
    const canvas = screenRef.current?.querySelector('canvas');
    if (!stage || !canvas || !screenRef.current) return;
    const scale = Math.min(stage.clientWidth / canvas.width, stage.clientHeight / canvas.height);
    screenRef.current.style.transform = `scale(${Number.isFinite(scale) && scale > 0 ? scale : 1})`;
    if (!canvas.hasAttribute('aria-label')) {
      canvas.setAttribute('role', 'application');
      canvas.setAttribute('aria-label', 'Desktop screen');
      canvas.setAttribute('aria-roledescription', 'remote desktop');
    }
  }, []);

  useEffect(() => {
    const stage = stageRef.current;
    const screen = screenRef.current;
    if (!stage || !screen) return;
    const resize = new ResizeObserver(fit);
    resize.observe(stage);
    const mutations = new MutationObserver(fit);
    mutations.observe(screen, { childList: true, subtree: true, attributes: true, attributeFilter: ['width', 'height'] });
    return () => {
      resize.disconnect();
      mutations.disconnect();
    };
  }, [fit]);

  const step = stepOf(desktop.stage, consoleState);
  const showProgress = booting || (ready && consoleState !== 'connected' && consoleState !== 'lost');
  const seconds = Math.max(0, Math.round((now - startedAt) / 1000));

  return (
    <div className="console-page">
      <nav className="console-bar" aria-label="Desktop">
        <Link href="/desktops">← My desktops</Link>
        <span>{desktop.pool}</span>
        <span className="spacer" />
        <span className="console-status" role="status">
          {consoleState === 'connected' ? 'Connected' : showProgress ? `${STEPS[Math.max(step, 0)]}…` : ''}
        </span>
      </nav>
      <div className="console-stage" ref={stageRef}>
        <div id={SCREEN_ID} className="console-screen" ref={screenRef} />
        {showProgress && (
          <section className="boot-progress" aria-labelledby="boot-title" style={{ position: 'absolute' }}>
            <h1 id="boot-title">Getting your desktop ready</h1>
            <progress aria-label="Desktop start-up" max={STEPS.length - 1} value={Math.max(step, 0)} />
            <ol className="boot-steps">
              {STEPS.map((name, i) => (
                <li key={name} aria-current={i === step ? 'step' : undefined} className={i < step ? 'done' : undefined}>
                  {name}
                </li>
              ))}
            </ol>
            <p className="console-status">{seconds} s</p>
          </section>
        )}
        {!booting && !ready && (
          <section className="boot-progress" role="alert" style={{ position: 'absolute' }}>
            <h1>{desktop.stage === 'failed' ? 'Your desktop stopped' : 'Your desktop is shut down'}</h1>
            <p>
              {desktop.stage === 'failed'
                ? (desktop.failureReason ?? 'The desktop stopped unexpectedly.')
                : 'Start it again from your desktops.'}
            </p>
            <p>
              <Link className="button" href="/desktops">
                Back to my desktops
              </Link>
            </p>
          </section>
        )}
        {ready && consoleState === 'lost' && (
          <section className="boot-progress" role="alert" style={{ position: 'absolute' }}>
            <h1>Not connected</h1>
            <p>{problem}</p>
            <button type="button" className="button" onClick={() => setAttempt((n) => n + 1)}>
              Reconnect
            </button>
          </section>
        )}
      </div>
    </div>
  );
}
