'use client';
/**
 * The desktop page's client: while the desktop boots it shows the steps (starting → booting →
 * connecting) with a progress bar; once the desktop is ready it opens the console (a
 * ConsoleConnection: ticket, spice-html5, reconnect with backoff) and shows the screen, scaled
 * to the window or at its real size, under a toolbar (ConsoleToolbar). The connection starts
 * in a deferred step so that React StrictMode's mount-unmount-mount does not open two consoles
 * (SPICE's second login would kick the first), and it is stopped when the page goes away.
 *
 * While the console reconnects, the last frame stays on screen, dimmed, with a small
 * "Reconnecting…" note. Keys are taken from the screen before spice-html5 sees them and sent
 * by physical key (KeyboardEvent.code). A console open elsewhere is asked about before taking
 * it over, and a console taken over says so (both from the session records, so they work
 * across tabs, browsers and portal replicas).
 */
import { useFormatter, useTranslations } from 'next-intl';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DesktopStage, DesktopView, IdlePolicyView } from '@/lib/desktops';
import { ConsoleToolbar } from './ConsoleToolbar';
import styles from './DesktopConsole.module.css';
import { IdleWarning, useIdleCountdown, useIdleDuration } from './IdleWarning';
import type { Notice } from './PowerMenu';
import { ConsoleConnection, type ConsoleStatus } from './spice/console-connection';
import { ReleaseKeyboardButton, isReleaseChord } from './spice/keyboard-release';
import { SoundButton } from './spice/sound-button';
import { attachTouchInput } from './spice/touch-input';
import { TouchKeyboard } from './spice/touch-keyboard';

const SCREEN_ID = 'spice-screen';
const STEPS = ['starting', 'booting', 'connecting', 'ready'] as const;
type ConsoleWords = ReturnType<typeof useTranslations<'Console'>>;

function stepOf(stage: DesktopStage, status: ConsoleStatus): number {
  if (stage === 'starting') return 0;
  if (stage === 'booting') return 1;
  if (stage === 'ready') return status.state === 'connected' ? 3 : 2;
  return -1;
}

function statusText(status: ConsoleStatus, step: number, t: ConsoleWords): string {
  const name = STEPS[step];
  switch (status.state) {
    case 'idle':
    case 'connecting':
      return name ? t('stepBusy', { step: t(`steps.${name}`) }) : '';
    case 'connected':
      return t('status.connected');
    case 'reconnecting':
      return t('status.reconnecting');
    case 'disconnected':
      return t('status.disconnected');
    case 'signed-out':
      return t('status.signedOut');
    case 'desktop-gone':
      return t('status.notAvailable');
    case 'in-use':
      return t('status.inUse');
    case 'taken-over':
      return t('status.takenOver');
    case 'closed-by-staff':
      return t('status.closedByStaff');
  }
}

async function fetchDesktop(apiBase: string): Promise<DesktopView | null> {
  const response = await fetch(apiBase, { cache: 'no-store' });
  if (!response.ok) return null;
  return ((await response.json()) as { desktop: DesktopView }).desktop;
}

export interface DesktopConsoleProps {
  initial: DesktopView;
  /** Where the desktop's routes are; the helpdesk opens people's desktops through its own. Default `/api/desktops/<id>`. */
  apiBase?: string;
  /** Where "back" goes. Default the person's desktops. */
  backHref?: string;
  /** The back link's words ("My desktops") and the button's on an end page ("Back to my desktops"). */
  backLabel?: string;
  backToLabel?: string;
  /** The pool's idle policy (the person's own desktops; staff consoles have none). */
  idle?: IdlePolicyView;
}

/** How long the window must keep its size before the guest is asked to follow it. */
const RESIZE_DEBOUNCE_MS = 400;
/**
 * How long a paste shortcut waits at most for the guest's agent to take the page's clipboard
 * (measured: about 1 s for the Xfce desktop under TCG on a loaded 2-core machine). A guest whose
 * agent has no desktop session never answers: the keys go after this long.
 */
const CLIPBOARD_OFFER_MS = 3000;

/** Ctrl+V, Ctrl+Shift+V (terminals) or Shift+Insert: the shortcuts that paste in the guest. */
function isPasteShortcut(event: KeyboardEvent): boolean {
  return (event.ctrlKey && !event.altKey && event.code === 'KeyV') || (event.shiftKey && !event.ctrlKey && event.code === 'Insert');
}

/** "Chromium 156 on Linux" from a user agent, for the "open elsewhere" prompt. */
function browserOf(userAgent: string | null, t: ConsoleWords): string {
  if (!userAgent) return t('inUse.aBrowser');
  if (!/Mozilla\//.test(userAgent)) return userAgent.slice(0, 40);
  const browser = /(Edg|Chrome|Chromium|Firefox|Safari)\/(\d+)/.exec(userAgent);
  const system = /Windows|Mac OS X|Linux|Android|iPhone/.exec(userAgent)?.[0]?.replace('Mac OS X', 'macOS');
  const name = browser ? `${browser[1] === 'Edg' ? 'Edge' : browser[1]} ${browser[2]}` : t('inUse.aBrowser');
  return system ? t('inUse.browserOn', { browser: name, system }) : name;
}

export function DesktopConsole({ initial, apiBase: givenApiBase, backHref = '/desktops', backLabel: givenBackLabel, backToLabel: givenBackToLabel, idle }: DesktopConsoleProps) {
  const t = useTranslations('Console');
  const format = useFormatter();
  const idleDuration = useIdleDuration();
  const timeOfDay = (at: number) => format.dateTime(at, { hour: '2-digit', minute: '2-digit' });
  const backLabel = givenBackLabel ?? t('myDesktops');
  const backToLabel = givenBackToLabel ?? t('backToMyDesktops');
  const apiBase = givenApiBase ?? `/api/desktops/${encodeURIComponent(initial.id)}`;
  const [desktop, setDesktop] = useState(initial);
  const [status, setStatus] = useState<ConsoleStatus>({ state: 'idle' });
  const [fit, setFit] = useState(true);
  const [fullScreen, setFullScreen] = useState(false);
  const [agent, setAgent] = useState(false);
  /** Text the guest copied that the page could not put on the system clipboard (shown to copy by hand). */
  const [guestClipboard, setGuestClipboard] = useState<string | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [startedAt] = useState(() => Date.now());
  const [now, setNow] = useState(() => Date.now());
  const pageRef = useRef<HTMLDivElement>(null);
  const stageRef = useRef<HTMLDivElement>(null);
  const frameRef = useRef<HTMLDivElement>(null);
  const screenRef = useRef<HTMLDivElement>(null);
  const frozenRef = useRef<HTMLDivElement>(null);
  const connectionRef = useRef<ConsoleConnection | null>(null);
  const [idleDisconnected, setIdleDisconnected] = useState(false);

  // A desktop whose host does not answer (libvirt hosts): a console that is open stays open (the
  // desktop itself may run well); otherwise none is tried (it would only spin): the page says
  // so and looks again until the host answers.
  const unreachable = desktop.unreachable === true;
  const booting = !unreachable && (desktop.stage === 'starting' || desktop.stage === 'booting');
  const ready = desktop.stage === 'ready' && (!unreachable || status.state === 'connected' || status.state === 'reconnecting');

  // Follow the desktop's state: quickly while it boots, slowly while it runs (to notice failures).
  // The first seconds of a start are watched closest: an instant clone is ready within a second.
  const [early, setEarly] = useState(true);
  useEffect(() => {
    const timer = setTimeout(() => setEarly(false), 4000);
    return () => clearTimeout(timer);
  }, []);
  useEffect(() => {
    if (!booting && !ready && !unreachable) return;
    const timer = setInterval(
      () => {
        void fetchDesktop(apiBase).then((d) => d && setDesktop(d));
        setNow(Date.now());
      },
      booting ? (early ? 150 : 400) : 3000,
    );
    return () => clearInterval(timer);
  }, [apiBase, booting, ready, unreachable, early]);

  // While it starts, the console's code is fetched, so that the first frame does not wait for it.
  useEffect(() => {
    if (booting) void import('@spice-project/spice-html5').catch(() => undefined);
  }, [booting]);

  // The console, while the desktop is ready.
  useEffect(() => {
    const screen = screenRef.current;
    if (!ready || !screen) return;
    const connection = new ConsoleConnection({
      desktopId: desktop.id,
      apiBase,
      screen,
      loadSpice: () => import('@spice-project/spice-html5'),
      onStatus: setStatus,
      onDesktop: setDesktop,
      onAgent: setAgent,
      onGuestClipboard: (text) => {
        // Straight onto the system clipboard where the browser allows it, else a panel to copy from.
        setGuestClipboard(null);
        if (!navigator.clipboard?.writeText) setGuestClipboard(text);
        else navigator.clipboard.writeText(text).catch(() => setGuestClipboard(text));
      },
      onLastFrame: (canvas) => {
        for (const name of ['role', 'aria-label', 'aria-roledescription', 'tabindex']) canvas.removeAttribute(name);
        frozenRef.current?.replaceChildren(canvas);
      },
    });
    connectionRef.current = connection;
    const timer = setTimeout(() => connection.start(), 0);
    const online = () => connection.retryNow();
    window.addEventListener('online', online);
    return () => {
      clearTimeout(timer);
      window.removeEventListener('online', online);
      connection.stop();
      if (connectionRef.current === connection) connectionRef.current = null;
      frozenRef.current?.replaceChildren();
    };
  }, [desktop.id, apiBase, ready]);

  // Scale the guest's screen (or, while reconnecting, its last frame) to the window, keeping its
  // aspect ratio, or show it at its real size. A CSS transform keeps spice-html5's pointer
  // coordinates right: offsetX/offsetY are in the canvas's own pixels.
  const layout = useCallback(() => {
    const stage = stageRef.current;
    const frame = frameRef.current;
    const live = screenRef.current?.querySelector('canvas');
    if (live) {
      frozenRef.current?.replaceChildren();
      if (!live.hasAttribute('aria-label')) {
        live.setAttribute('role', 'application');
        live.setAttribute('aria-label', t('screen'));
        live.setAttribute('aria-roledescription', t('screenRole'));
        attachTouchInput(live);
      }
    }
    const canvas = live ?? frozenRef.current?.querySelector('canvas');
    if (!stage || !frame || !canvas) return;
    const scale = fit ? Math.min(stage.clientWidth / canvas.width, stage.clientHeight / canvas.height) : 1;
    frame.style.transform = `scale(${Number.isFinite(scale) && scale > 0 ? scale : 1})`;
  }, [fit, t]);

  useEffect(() => {
    const stage = stageRef.current;
    const frame = frameRef.current;
    if (!stage || !frame) return;
    layout();
    const resize = new ResizeObserver(layout);
    resize.observe(stage);
    const mutations = new MutationObserver(layout);
    mutations.observe(frame, { childList: true, subtree: true, attributes: true, attributeFilter: ['width', 'height'] });
    return () => {
      resize.disconnect();
      mutations.disconnect();
    };
  }, [layout]);

  // Keys: taken in the capture phase on the screen element, so spice-html5's own handlers
  // (which map keyCode and call alert() for keys they do not know) never see them.
  useEffect(() => {
    const screen = screenRef.current;
    if (!screen) return;
    const onKey = (event: KeyboardEvent) => {
      event.stopPropagation();
      if (isReleaseChord(event)) {
        event.preventDefault();
        releaseKeyboardRef.current();
        return;
      }
      if (event.type === 'keydown' && isPasteShortcut(event) && navigator.clipboard?.readText) {
        // The page's clipboard goes to the guest first (through its agent), then the shortcut.
        event.preventDefault();
        const code = event.code;
        const modifiers = [event.ctrlKey && 'ControlLeft', event.shiftKey && 'ShiftLeft', event.altKey && 'AltLeft'].filter(
          (m): m is string => typeof m === 'string',
        );
        void navigator.clipboard
          .readText()
          // The offer goes over the agent channel, the keys over the inputs channel: the keys
          // wait until the guest's agent says it holds the clipboard, so the paste asks it.
          .then((text) => connectionRef.current?.offerClipboardText(text, CLIPBOARD_OFFER_MS))
          .catch(() => undefined)
          .finally(() => {
            // The person may have let go of Ctrl/Shift meanwhile: the guest still gets the whole shortcut.
            const connection = connectionRef.current;
            const released = modifiers.filter((m) => !connection?.isDown(m));
            for (const m of released) connection?.key(m, true);
            connection?.key(code, true);
            connection?.key(code, false);
            for (const m of released.reverse()) connection?.key(m, false);
          });
        return;
      }
      if (connectionRef.current?.handleKeyEvent(event)) event.preventDefault();
    };
    const release = () => connectionRef.current?.releaseAllKeys();
    screen.addEventListener('keydown', onKey, true);
    screen.addEventListener('keyup', onKey, true);
    screen.addEventListener('focusout', release);
    window.addEventListener('blur', release);
    return () => {
      screen.removeEventListener('keydown', onKey, true);
      screen.removeEventListener('keyup', onKey, true);
      screen.removeEventListener('focusout', release);
      window.removeEventListener('blur', release);
    };
  }, []);

  useEffect(() => {
    const onChange = () => setFullScreen(document.fullscreenElement !== null && document.fullscreenElement === pageRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  // Info notices fade after a while; errors stay until the next one.
  useEffect(() => {
    if (notice?.kind !== 'info') return;
    const timer = setTimeout(() => setNotice((n) => (n === notice ? null : n)), 10_000);
    return () => clearTimeout(timer);
  }, [notice]);

  // With a SPICE agent in the guest, its screen follows the window: the stage's size is sent as
  // the monitor config once the agent is there and again 400 ms after the window stops changing.
  // Guests without an agent keep their size and are scaled (fit to window).
  useEffect(() => {
    const stage = stageRef.current;
    if (!agent || !stage) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const follow = () => {
      clearTimeout(timer);
      timer = setTimeout(() => connectionRef.current?.resizeDesktop(stage.clientWidth, stage.clientHeight), RESIZE_DEBOUNCE_MS);
    };
    follow();
    const observer = new ResizeObserver(follow);
    observer.observe(stage);
    return () => {
      clearTimeout(timer);
      observer.disconnect();
    };
  }, [agent]);

  const screenElement = useCallback(() => screenRef.current, []);
  const focusScreen = () => screenRef.current?.querySelector('canvas')?.focus();

  /** Gives the keyboard back to the page: keys held are released, the focus goes to the bar's first link. */
  const releaseKeyboard = () => {
    connectionRef.current?.releaseAllKeys();
    pageRef.current?.querySelector<HTMLElement>('.console-bar a')?.focus();
  };
  const releaseKeyboardRef = useRef(releaseKeyboard);
  releaseKeyboardRef.current = releaseKeyboard;

  function changeFullScreen(want: boolean) {
    if (want) {
      pageRef.current?.requestFullscreen().catch(() => setNotice({ kind: 'error', text: t('notice.fullScreenRefused') }));
    } else if (document.fullscreenElement) {
      void document.exitFullscreen();
    }
  }

  function sendCtrlAltDel() {
    if (!connectionRef.current?.sendCtrlAltDel()) setNotice({ kind: 'error', text: t('notice.ctrlAltDelNotSent') });
    focusScreen();
  }

  function resizeDesktop() {
    const stage = stageRef.current;
    if (!stage || !connectionRef.current?.resizeDesktop(stage.clientWidth, stage.clientHeight)) {
      setNotice({ kind: 'error', text: t('notice.resizeNoAgent') });
      return;
    }
    setFit(true);
    setNotice({ kind: 'info', text: t('notice.resizeAsked') });
    focusScreen();
  }

  async function sendText(text: string) {
    const connection = connectionRef.current;
    if (!connection) return;
    focusScreen();
    let shown = 0;
    const result = await connection.typeText(text, {
      onProgress: (typed, total) => {
        if (typed - shown >= 25 || typed === total) {
          shown = typed;
          setNotice({ kind: 'info', text: t('notice.typing', { typed, total }) });
        }
      },
    });
    const skipped = [...new Set(result.skipped)].join(' ');
    if (result.typed < result.total) {
      setNotice({ kind: 'error', text: t('notice.typingStopped', { typed: result.typed, total: result.total }) });
    } else if (skipped) {
      setNotice({ kind: 'error', text: t('notice.typedSkipped', { typed: result.typed, count: result.skipped.length, skipped }) });
    } else {
      setNotice({ kind: 'info', text: t('notice.typed', { typed: result.typed }) });
    }
  }

  const idleCountdown = useIdleCountdown(pageRef, idle?.idleMinutes ?? 0, ready && status.state === 'connected', () => {
    setIdleDisconnected(true);
    connectionRef.current?.disconnect();
  });

  const step = stepOf(desktop.stage, status);
  const firstConnect = status.state === 'idle' || status.state === 'connecting';
  const showProgress = booting || (ready && firstConnect);
  const seconds = Math.max(0, Math.round((now - startedAt) / 1000));
  const connected = status.state === 'connected';
  const live = connected || status.state === 'connecting' || status.state === 'reconnecting';
  const signInAgain = `/login?callbackUrl=${encodeURIComponent(`/desktops/${desktop.id}`)}`;
  const backButton = (
    <p>
      <Link className="button" href={backHref}>
        {backToLabel}
      </Link>
    </p>
  );

  return (
    <div className="console-page" ref={pageRef}>
      <nav className="console-bar" aria-label={t('nav')}>
        <Link href={backHref}>← {backLabel}</Link>
        <span>{desktop.pool}</span>
        <span className="console-status" role="status" aria-label={t('connection')}>
          {ready || booting ? statusText(status, step, t) : ''}
        </span>
        {notice &&
          (notice.kind === 'error' ? (
            <span role="alert" className={styles.noticeError}>
              {notice.text}
            </span>
          ) : (
            <span role="status" className={styles.notice}>
              {notice.text}
            </span>
          ))}
        <span className="spacer" />
        {ready && connected && <ReleaseKeyboardButton onRelease={releaseKeyboard} />}
        {ready && connected && <SoundButton screen={screenElement} />}
        {ready && <TouchKeyboard target={() => connectionRef.current} disabled={!connected} />}
        {(ready || booting) && (
          <ConsoleToolbar
            desktopId={desktop.id}
            remoteViewerHref={givenApiBase ? undefined : `${apiBase}/remote-viewer`}
            connected={connected}
            live={live && ready}
            fit={fit}
            onFitChange={setFit}
            agent={agent}
            onResizeDesktop={resizeDesktop}
            fullScreen={fullScreen}
            onFullScreenChange={changeFullScreen}
            onCtrlAltDel={sendCtrlAltDel}
            onSendText={(text) => void sendText(text)}
            onDisconnect={() => connectionRef.current?.disconnect()}
            onNotice={setNotice}
            onDesktop={setDesktop}
          />
        )}
      </nav>
      <div className={`console-stage ${fit ? '' : styles.stageActualSize}`} ref={stageRef}>
        <div className={styles.frame} ref={frameRef}>
          <div id={SCREEN_ID} className="console-screen" ref={screenRef} />
          <div className={styles.frozen} ref={frozenRef} aria-hidden="true" />
        </div>
        {guestClipboard !== null && (
          <section className={styles.guestClipboard} aria-labelledby="guest-clipboard-title">
            <h2 id="guest-clipboard-title">{t('guestClipboard.title')}</h2>
            <textarea readOnly aria-label={t('guestClipboard.text')} value={guestClipboard} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" className="button" onClick={() => setGuestClipboard(null)}>
              {t('guestClipboard.close')}
            </button>
          </section>
        )}
        {ready && status.state === 'reconnecting' && (
          <p className={styles.reconnecting} title={t('reconnectingDetail', { attempt: status.attempt, reason: status.reason })}>
            {t('status.reconnecting')}
          </p>
        )}
        {showProgress && (
          <section className="boot-progress" aria-labelledby="boot-title" style={{ position: 'absolute' }}>
            <h1 id="boot-title">{t('boot.title')}</h1>
            <progress aria-label={t('boot.progress')} max={STEPS.length - 1} value={Math.max(step, 0)} />
            <ol className="boot-steps">
              {STEPS.map((name, i) => (
                <li key={name} aria-current={i === step ? 'step' : undefined} className={i < step ? 'done' : undefined}>
                  {t(`steps.${name}`)}
                </li>
              ))}
            </ol>
            <p className="console-status">{t('boot.seconds', { seconds })}</p>
          </section>
        )}
        {unreachable && !ready && (
          <section className="boot-progress" role="alert" aria-labelledby="unreachable-title" style={{ position: 'absolute' }}>
            <h1 id="unreachable-title">{t('unreachable.title')}</h1>
            <p>{t('unreachable.text')}</p>
            {backButton}
          </section>
        )}
        {!booting && !ready && !unreachable && (
          <section className="boot-progress" role="alert" style={{ position: 'absolute' }}>
            <h1>{desktop.stage === 'failed' ? t('stopped.failedTitle') : t('stopped.shutDownTitle')}</h1>
            <p>
              {desktop.stage === 'failed'
                ? (desktop.failureReason ?? t('stopped.unexpectedly'))
                : t('stopped.startAgain')}
            </p>
            {backButton}
          </section>
        )}
        {ready && status.state === 'disconnected' && (
          <section className="boot-progress" aria-labelledby="disconnected-title" style={{ position: 'absolute' }}>
            <h1 id="disconnected-title">{t('disconnected.title')}</h1>
            {idleDisconnected ? (
              <p>
                {t('disconnected.idle', { duration: idleDuration(idle?.idleMinutes ?? 0) })}{' '}
                {idle?.stateless ? t('disconnected.idleStateless') : t('disconnected.idlePersistent')}
              </p>
            ) : (
              <p>{t('disconnected.byYou')}</p>
            )}
            <button
              type="button"
              className="button"
              onClick={() => {
                setIdleDisconnected(false);
                connectionRef.current?.reconnect();
              }}
            >
              {t('disconnected.reconnect')}
            </button>
          </section>
        )}
        {ready && status.state === 'connected' && idleCountdown.left !== null && (
          <IdleWarning
            left={idleCountdown.left}
            stateless={idle?.stateless ?? false}
            onStay={() => {
              idleCountdown.stay();
              focusScreen();
            }}
          />
        )}
        {ready && status.state === 'in-use' && (
          <section className="boot-progress" role="alertdialog" aria-labelledby="in-use-title" style={{ position: 'absolute' }}>
            <h1 id="in-use-title">{t('inUse.title')}</h1>
            <p>
              {status.clientAddress
                ? t('inUse.textFrom', { time: timeOfDay(status.since), address: status.clientAddress, browser: browserOf(status.userAgent, t) })
                : t('inUse.text', { time: timeOfDay(status.since), browser: browserOf(status.userAgent, t) })}
            </p>
            <p>{t('inUse.other')}</p>
            <button type="button" className="button" onClick={() => connectionRef.current?.continueHere()}>
              {t('inUse.continue')}
            </button>{' '}
            <Link className="button secondary" href={backHref}>
              {t('inUse.cancel')}
            </Link>
          </section>
        )}
        {ready && status.state === 'taken-over' && (
          <section className="boot-progress" role="alert" aria-labelledby="taken-title" style={{ position: 'absolute' }}>
            <h1 id="taken-title">{status.by && /^(Helpdesk|Admin) /.test(status.by) ? t('takenOver.byStaffTitle', { by: status.by }) : t('takenOver.title')}</h1>
            <p>
              {status.by && /^(Helpdesk|Admin) /.test(status.by)
                ? t('takenOver.byStaffText', { by: status.by, time: timeOfDay(status.at) })
                : t('takenOver.text', { time: timeOfDay(status.at) })}
            </p>
            <button type="button" className="button" onClick={() => connectionRef.current?.reconnect()}>
              {t('takenOver.takeBack')}
            </button>
          </section>
        )}
        {ready && status.state === 'closed-by-staff' && (
          <section className="boot-progress" role="alert" aria-labelledby="closed-title" style={{ position: 'absolute' }}>
            <h1 id="closed-title">{t('closed.title')}</h1>
            <p>
              {status.revoked ? t('closed.revoked') : status.by ? t('closed.byStaff', { by: status.by }) : t('closed.byHelpdesk')}{' '}
              {t('closed.keepsRunning')}
            </p>
            <button type="button" className="button" onClick={() => connectionRef.current?.reconnect()}>
              {t('closed.reconnect')}
            </button>
          </section>
        )}
        {status.state === 'signed-out' && (
          <section className="boot-progress" role="alert" style={{ position: 'absolute' }}>
            <h1>{t('signedOut.title')}</h1>
            <p>{t.rich('signedOut.text', { link: (chunks) => <Link href={signInAgain}>{chunks}</Link> })}</p>
          </section>
        )}
        {ready && status.state === 'desktop-gone' && (
          <section className="boot-progress" role="alert" style={{ position: 'absolute' }}>
            <h1>{t('gone.title')}</h1>
            <p>{status.detail ?? t(`gone.${status.reason}`)}</p>
            {backButton}
          </section>
        )}
      </div>
    </div>
  );
}
