/**
 * One desktop's console in the page, kept alive. It gets a console ticket, opens a spice-html5
 * connection with it, and when the connection drops (the relay or SPICE closed it, the network
 * went away) it stops that connection completely, clears the screen element (canvas ids are
 * document-global) and connects again with a fresh ticket after 0.5 s, 1 s, 2 s, 4 s, 8 s, then
 * every 10 s. Before each retry it asks for the desktop's state, and it stops trying for good
 * when the desktop is gone, stopped or failed, or when the person's sign-in has ended.
 *
 * It also carries the keyboard: keys by physical position (see scancodes.ts) sent over
 * spice-html5's inputs channel, Ctrl+Alt+Del, and text typed as keystrokes.
 *
 * Framework-free: the page gives it the screen element, a loader for spice-html5 and a status
 * listener; unit tests give it fakes of all three and of fetch.
 */
import type { SpiceError, SpiceMainConn, SpiceOutgoingMessage } from '@spice-project/spice-html5';
import type { DesktopView } from '@/lib/desktops';
import { type AgentClipboard, type AgentConnection, installAgentClipboard } from './agent-clipboard';
import { FINAL_CONSOLE_ENDS, isConsoleEndReason } from '@/lib/console-ends';
import {
  PAUSE_CODE,
  PAUSE_MESSAGES,
  SCANCODES,
  SPICE_KEY_DOWN,
  SPICE_KEY_UP,
  keystrokesForText,
  spiceKeyCode,
  usKeystroke,
} from './scancodes';

export type SpiceModule = Pick<typeof import('@spice-project/spice-html5'), 'SpiceMainConn' | 'sendCtrlAltDel'>;

export type ConsoleStatus =
  | { state: 'idle' }
  | { state: 'connecting' }
  /** Up, with its inputs channel ready: keys and clicks reach the desktop. */
  | { state: 'connected' }
  /**
   * The connection dropped (or could not be opened); the next try is in `retryInMs`.
   * `attempt` counts the tries since the console was last up for a while.
   */
  | { state: 'reconnecting'; attempt: number; retryInMs: number; reason: string }
  /** The person pressed Disconnect. */
  | { state: 'disconnected' }
  | { state: 'signed-out' }
  /** The desktop is not there for a console; `detail` is the broker's own account of a failure, if any. */
  | { state: 'desktop-gone'; reason: DesktopGoneReason; detail: string | null }
  /** Before connecting: the desktop's console is open elsewhere (from the session records). */
  | { state: 'in-use'; since: number; clientAddress: string | null; userAgent: string | null }
  /** Someone opened this desktop elsewhere, which closed this console. */
  | { state: 'taken-over'; by: string | null; at: number }
  /** The helpdesk (or an admin, named in `by`) closed this console, or the person lost access to it (`revoked`). */
  | { state: 'closed-by-staff'; by: string | null; revoked: boolean };

/** Why a desktop is not there for a console, as a code the page puts into the person's language. */
export type DesktopGoneReason = 'missing' | 'stopping' | 'stopped' | 'failed';

export interface ConsoleConnectionOptions {
  desktopId: string;
  /** Where the desktop's routes are (state, consoles, console-ticket). Default `/api/desktops/<id>`. */
  apiBase?: string;
  /** The element spice-html5 draws into; its id is given to spice-html5 as screen_id. */
  screen: HTMLElement;
  loadSpice: () => Promise<SpiceModule>;
  onStatus: (status: ConsoleStatus) => void;
  /** Called with the desktop's state whenever a retry looked it up. */
  onDesktop?: (desktop: DesktopView) => void;
  /** Called when a connection's main channel logged in: SPICE has just dropped any other client. */
  onSessionStart?: () => void;
  /** Called with true when the guest's SPICE agent is there (resize is possible), false when the connection goes. */
  onAgent?: (present: boolean) => void;
  /** Called with text the guest put on its clipboard (through its SPICE agent). */
  onGuestClipboard?: (text: string) => void;
  /** Called with the last frame's canvas (detached, id removed) when a connection is torn down. */
  onLastFrame?: (canvas: HTMLCanvasElement) => void;
  /** Where the page is: the WebSocket goes to the same host (default: window.location). */
  location?: { protocol: string; host: string };
  fetch?: typeof fetch;
  /** Waits before retry 1, 2, 3...; the last one repeats. Default 500, 1000, 2000, 4000, 8000, 10000 ms. */
  retryDelaysMs?: readonly number[];
  /** A connection that stayed up this long starts the retry delays from the first again. Default 5000 ms. */
  stableAfterMs?: number;
  /**
   * Pause after each key press or release of typed text. The guest's PS/2 keyboard buffer holds
   * 16 bytes and QEMU drops what does not fit, so a guest that stalls for a moment (a busy host)
   * loses keys sent in a burst. Default 20 ms: about 25 characters a second, and a guest may
   * stall for about 300 ms without losing any.
   */
  typingDelayMs?: number;
}

// Capped at 3 s: when Floe itself restarts (an upgrade, a kill -9), every open console is
// back within a few seconds of it listening again, without a reload.
const DEFAULT_RETRY_DELAYS_MS = [500, 1000, 2000, 3000];

/** A reason to stop retrying, found while looking up the desktop or asking for a ticket. */
class EndOfConsole extends Error {
  constructor(readonly status: ConsoleStatus) {
    super(status.state);
  }
}

/** The desktop is not ready for a console yet (e.g. booting again after a reset): try later. */
class NotReadyYet extends Error {}

const GONE_STAGES: ReadonlySet<string> = new Set<DesktopGoneReason>(['stopping', 'stopped', 'failed']);

function keyMessage(type: number, code: number): SpiceOutgoingMessage {
  return {
    buffer_size: () => 10,
    to_buffer(buffer: ArrayBuffer, at = 0) {
      const dv = new DataView(buffer);
      dv.setUint16(at, type, true);
      dv.setUint32(at + 2, 4, true);
      dv.setUint32(at + 6, code, true);
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof Event !== 'undefined' && error instanceof Event) return 'The connection failed.';
  return String(error);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ConsoleConnection {
  private readonly options: ConsoleConnectionOptions;
  private readonly fetch: typeof fetch;
  private readonly retryDelaysMs: readonly number[];
  private readonly stableAfterMs: number;
  private readonly typingDelayMs: number;
  /** Bumped whenever what is in flight must be forgotten (new attempt, stop, end). */
  private generation = 0;
  private connection: SpiceMainConn | undefined;
  private clipboard: AgentClipboard | undefined;
  private spice: SpiceModule | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private inputsTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private connectedAt = 0;
  private current: ConsoleStatus = { state: 'idle' };
  /** Keys held down in the guest, by KeyboardEvent.code, with the scancode sent for each. */
  private readonly pressed = new Map<string, number>();
  private readonly apiBase: string;
  /** The console session the current (or last) ticket started. */
  private sessionId: string | undefined;

  constructor(options: ConsoleConnectionOptions) {
    this.options = options;
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.stableAfterMs = options.stableAfterMs ?? 5000;
    this.typingDelayMs = options.typingDelayMs ?? 20;
    this.apiBase = options.apiBase ?? `/api/desktops/${encodeURIComponent(options.desktopId)}`;
  }

  get status(): ConsoleStatus {
    return this.current;
  }

  /**
   * Connects for the first time, unless the desktop's console is open somewhere else: then the
   * status is `in-use` and `continueHere()` takes it over. A console this tab opened before (a
   * reload) does not count: its record may not have ended yet.
   */
  start(): void {
    this.failures = 0;
    const generation = ++this.generation;
    void this.openElsewhere().then((other) => {
      if (generation !== this.generation) return;
      if (other) this.setStatus({ state: 'in-use', since: other.startedAt, clientAddress: other.clientAddress, userAgent: other.userAgent });
      else void this.connect(false);
    });
  }

  /** The person chose to use the desktop here although it is open elsewhere. */
  continueHere(): void {
    this.reconnect();
  }

  /** The person asked to connect again (after Disconnect, or after it was opened elsewhere). */
  reconnect(): void {
    this.failures = 0;
    void this.connect(false);
  }

  /** While waiting to retry, retry now (e.g. the browser is back online). */
  retryNow(): void {
    if (this.current.state === 'reconnecting' && this.retryTimer !== undefined) void this.connect(true);
  }

  /** The person pressed Disconnect: close the console and do not come back by itself. */
  disconnect(): void {
    this.finish({ state: 'disconnected' });
  }

  /** The page is going away: close everything and report nothing more. */
  stop(): void {
    this.generation++;
    this.clearTimers();
    this.teardown(false);
  }

  private setStatus(status: ConsoleStatus): void {
    this.current = status;
    this.options.onStatus(status);
  }

  private finish(status: ConsoleStatus): void {
    this.generation++;
    this.clearTimers();
    this.teardown(true);
    this.setStatus(status);
  }

  private clearTimers(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.inputsTimer !== undefined) clearTimeout(this.inputsTimer);
    this.inputsTimer = undefined;
  }

  /**
   * spice-html5 reports success when the main channel is up; the inputs channel links a moment
   * later, and keys sent before it is ready are lost. "Connected" waits for it (at most 10 s).
   */
  private whenInputsReady(generation: number, then: () => void): void {
    const started = Date.now();
    const check = () => {
      this.inputsTimer = undefined;
      if (generation !== this.generation) return;
      if (this.canType || Date.now() - started > 10_000) then();
      else this.inputsTimer = setTimeout(check, 25);
    };
    check();
  }

  /** Stops the spice-html5 connection, keeps its last frame, and empties the screen element. */
  private teardown(keepLastFrame: boolean): void {
    const connection = this.connection;
    this.connection = undefined;
    this.clipboard = undefined;
    this.pressed.clear();
    if (connection) this.options.onAgent?.(false);
    const screen = this.options.screen;
    const canvas = screen.querySelector('canvas');
    if (connection) {
      try {
        connection.stop();
      } catch {
        // The patched stop() does not throw; an unpatched one may, and the server closes the rest.
      }
    }
    screen.replaceChildren();
    screen.style.removeProperty('height');
    screen.style.removeProperty('cursor');
    if (keepLastFrame && canvas && this.options.onLastFrame) {
      canvas.removeAttribute('id');
      this.options.onLastFrame(canvas);
    }
  }

  private async connect(isRetry: boolean): Promise<void> {
    const generation = ++this.generation;
    this.clearTimers();
    this.teardown(true);
    if (!isRetry) this.setStatus({ state: 'connecting' });
    try {
      if (isRetry) await this.checkDesktop();
      if (generation !== this.generation) return;
      const ticket = await this.requestTicket();
      if (generation !== this.generation) return;
      this.spice ??= await this.options.loadSpice();
      if (generation !== this.generation) return;
      const location = this.options.location ?? window.location;
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      this.options.screen.replaceChildren();
      this.connection = new this.spice.SpiceMainConn({
        uri: `${scheme}://${location.host}${ticket.path}`,
        screen_id: this.options.screen.id,
        password: ticket.password,
        onsuccess: () => {
          if (generation !== this.generation) return;
          this.connectedAt = Date.now();
          this.options.onSessionStart?.();
          this.whenInputsReady(generation, () => this.setStatus({ state: 'connected' }));
        },
        onerror: (error) => {
          if (generation === this.generation) this.dropped(error);
        },
        onagent: () => {
          if (generation === this.generation) this.options.onAgent?.(true);
        },
      });
      // Before any message arrives (the WebSocket opens later): the agent hears of the clipboard.
      this.clipboard = installAgentClipboard(this.connection as unknown as AgentConnection, (text) => {
        if (generation === this.generation) this.options.onGuestClipboard?.(text);
      });
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof EndOfConsole) this.finish(error.status);
      else this.retryLater(describe(error));
    }
  }

  private dropped(error: SpiceError | Event): void {
    const wasUpFor = this.connectedAt ? Date.now() - this.connectedAt : 0;
    this.connectedAt = 0;
    if (wasUpFor >= this.stableAfterMs) this.failures = 0;
    const generation = ++this.generation;
    this.teardown(true);
    if (!this.sessionId) return this.retryLater(describe(error));
    // Floe closed it on purpose (taken over, closed by the helpdesk, signed out)? The session's
    // record says; then there is no point in reconnecting by ourselves.
    void this.howSessionEnded().then((ending) => {
      if (generation !== this.generation) return;
      if (ending) this.finish(ending);
      else this.retryLater(describe(error));
    });
  }

  private async howSessionEnded(): Promise<ConsoleStatus | undefined> {
    if (!this.sessionId) return undefined;
    try {
      const response = await this.fetch(`${this.apiBase}/consoles/${encodeURIComponent(this.sessionId)}`, { cache: 'no-store' });
      if (response.status === 401) return { state: 'signed-out' };
      if (!response.ok) return undefined;
      const { session } = (await response.json()) as { session?: { endedAt: number | null; endReason: string | null; takenOverBy: string | null } };
      const reason = session?.endReason;
      if (!isConsoleEndReason(reason) || !FINAL_CONSOLE_ENDS.has(reason)) return undefined;
      const by = session?.takenOverBy ?? null;
      switch (reason) {
        case 'taken-over':
          return { state: 'taken-over', by, at: session?.endedAt ?? Date.now() };
        case 'closed-by-staff':
          return { state: 'closed-by-staff', by, revoked: false };
        case 'signed-out':
          return { state: 'signed-out' };
        case 'access-revoked':
          return { state: 'closed-by-staff', by: null, revoked: true };
      }
      // desktop-stopped: the retry looks the desktop up and says how it ended.
      return undefined;
    } catch {
      return undefined;
    }
  }

  /** Sessions this tab started on this desktop (kept across reloads of the tab). */
  private get ownSessionsKey(): string {
    return `floe-console-sessions:${this.options.desktopId}`;
  }

  private ownSessions(): string[] {
    try {
      return JSON.parse(sessionStorage.getItem(this.ownSessionsKey) ?? '[]') as string[];
    } catch {
      return [];
    }
  }

  private rememberSession(id: string): void {
    try {
      sessionStorage.setItem(this.ownSessionsKey, JSON.stringify([...this.ownSessions(), id].slice(-10)));
    } catch {
      // No sessionStorage (tests, privacy modes): a reload may then ask once.
    }
  }

  /** An open console of this desktop that is not this tab's own, from the records. */
  private async openElsewhere(): Promise<{ startedAt: number; clientAddress: string | null; userAgent: string | null } | undefined> {
    try {
      const response = await this.fetch(`${this.apiBase}/consoles`, { cache: 'no-store' });
      if (!response.ok) return undefined;
      const { open } = (await response.json()) as { open?: { id: string; startedAt: number; clientAddress: string | null; userAgent: string | null }[] };
      const mine = new Set(this.ownSessions());
      return open?.find((session) => !mine.has(session.id));
    } catch {
      return undefined;
    }
  }

  private retryLater(reason: string): void {
    const delay = this.retryDelaysMs[Math.min(this.failures, this.retryDelaysMs.length - 1)] ?? 10_000;
    this.failures++;
    const generation = ++this.generation;
    this.setStatus({ state: 'reconnecting', attempt: this.failures, retryInMs: delay, reason });
    this.clearTimers();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (generation === this.generation) void this.connect(true);
    }, delay);
  }

  /** Looks the desktop up before a retry; throws EndOfConsole if there is no point in retrying. */
  private async checkDesktop(): Promise<void> {
    const response = await this.fetch(this.apiBase, { cache: 'no-store' });
    const body = (await response.json().catch(() => ({}))) as { desktop?: DesktopView; error?: string };
    if (response.status === 401) throw new EndOfConsole({ state: 'signed-out' });
    if (response.status === 404) {
      throw new EndOfConsole({ state: 'desktop-gone', reason: 'missing', detail: null });
    }
    if (!response.ok || !body.desktop) throw new Error(body.error ?? `Floe did not answer (${response.status}).`);
    this.options.onDesktop?.(body.desktop);
    const stage = body.desktop.stage;
    if (GONE_STAGES.has(stage)) throw new EndOfConsole({ state: 'desktop-gone', reason: stage as DesktopGoneReason, detail: body.desktop.failureReason ?? null });
    if (body.desktop.stage !== 'ready') throw new NotReadyYet('The desktop is starting again.');
  }

  private async requestTicket(): Promise<{ path: string; password: string }> {
    const response = await this.fetch(`${this.apiBase}/console-ticket`, {
      method: 'POST',
      cache: 'no-store',
    });
    const body = (await response.json().catch(() => ({}))) as { path?: string; password?: string; sessionId?: string; error?: string };
    if (response.status === 401) throw new EndOfConsole({ state: 'signed-out' });
    if (response.status === 404) {
      throw new EndOfConsole({ state: 'desktop-gone', reason: 'missing', detail: null });
    }
    if (response.status === 409) throw new NotReadyYet(body.error ?? 'The desktop is not ready yet.');
    if (!response.ok || !body.path || !body.password) {
      throw new Error(body.error ?? `Floe could not open the console (${response.status}).`);
    }
    this.sessionId = body.sessionId;
    if (body.sessionId) this.rememberSession(body.sessionId);
    return { path: body.path, password: body.password };
  }

  /**
   * Asks the guest (through its SPICE agent) to change its screen to `width` x `height`, rounded
   * down to multiples of 8 as X.Org wants. False when there is no agent to ask.
   */
  resizeDesktop(width: number, height: number): boolean {
    const connection = this.connection;
    if (!connection?.agent_connected) return false;
    const w = Math.floor(width / 8) * 8;
    const h = Math.floor(height / 8) * 8;
    if (w < 320 || h < 200) return false;
    connection.resize_window(0, w, h, 32, 0, 0);
    return true;
  }

  /**
   * Offers `text` to the guest's clipboard (its next paste gets it). Resolves true once the
   * guest's agent holds it, false when there is no agent, the guest took its clipboard back, or
   * the agent did not answer within `withinMs`.
   */
  offerClipboardText(text: string, withinMs: number): Promise<boolean> {
    if (!this.connection?.agent_connected || !this.clipboard) return Promise.resolve(false);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), withinMs);
    });
    return Promise.race([this.clipboard.offerText(text), late]).finally(() => clearTimeout(timer));
  }

  // --- Keyboard -------------------------------------------------------------------------------

  /** True when key messages can be sent now. */
  get canType(): boolean {
    return this.connection?.inputs?.state === 'ready';
  }

  private send(type: number, code: number): boolean {
    const inputs = this.connection?.inputs;
    if (!inputs || inputs.state !== 'ready') return false;
    inputs.send_msg(keyMessage(type, code));
    return true;
  }

  /** Presses or releases the key at a physical position (`KeyboardEvent.code`); false if unknown. */
  key(code: string, down: boolean): boolean {
    if (code === PAUSE_CODE) {
      if (down) for (const [type, value] of PAUSE_MESSAGES) this.send(type, value);
      return true;
    }
    const scancode = SCANCODES[code];
    if (scancode === undefined) return false;
    if (!down && !this.pressed.has(code)) return true; // its press went elsewhere (e.g. before focus)
    if (down) this.pressed.set(code, scancode);
    else this.pressed.delete(code);
    this.send(down ? SPICE_KEY_DOWN : SPICE_KEY_UP, spiceKeyCode(scancode, down));
    return true;
  }

  /**
   * Handles a keydown or keyup from the screen. Returns true when the key was sent (the page
   * then keeps the browser from acting on it). A key without a code (some on-screen keyboards)
   * is typed by its character on a US layout.
   */
  handleKeyEvent(event: Pick<KeyboardEvent, 'type' | 'code' | 'key' | 'isComposing'>): boolean {
    if (event.isComposing) return false;
    const down = event.type === 'keydown';
    if (event.code && this.key(event.code, down)) return true;
    if (down && [...event.key].length === 1) {
      const stroke = usKeystroke(event.key);
      if (stroke) {
        this.tap(stroke.code, stroke.shift);
        return true;
      }
    }
    return false;
  }

  /** True while the key at `code` is held down in the guest. */
  isDown(code: string): boolean {
    return this.pressed.has(code);
  }

  /** Releases every key still held in the guest (the screen lost focus with keys down). */
  releaseAllKeys(): void {
    for (const code of [...this.pressed.keys()]) this.key(code, false);
  }

  private tap(code: string, shift: boolean): void {
    if (shift) this.key('ShiftLeft', true);
    this.key(code, true);
    this.key(code, false);
    if (shift) this.key('ShiftLeft', false);
  }

  /** Sends Ctrl+Alt+Del (through spice-html5's patched sendCtrlAltDel). */
  sendCtrlAltDel(): boolean {
    if (!this.connection || !this.spice || !this.canType) return false;
    this.spice.sendCtrlAltDel(this.connection);
    return true;
  }

  /**
   * Types `text` as keystrokes on a US layout, pausing after every key press and release (see
   * typingDelayMs); Shift stays down across a run of shifted characters. Stops early if the
   * connection goes away or `signal` is aborted. Reports the characters typed and those a US
   * keyboard cannot type.
   */
  async typeText(
    text: string,
    { signal, onProgress }: { signal?: AbortSignal; onProgress?: (typed: number, total: number) => void } = {},
  ): Promise<{ typed: number; total: number; skipped: string[] }> {
    const { strokes, skipped } = keystrokesForText(text);
    const connection = this.connection;
    let typed = 0;
    let shift = false;
    const press = async (code: string, down: boolean) => {
      this.key(code, down);
      await sleep(this.typingDelayMs);
    };
    for (const stroke of strokes) {
      if (signal?.aborted || this.connection !== connection || !this.canType) break;
      if (stroke.shift !== shift) {
        shift = stroke.shift;
        await press('ShiftLeft', shift);
      }
      await press(stroke.code, true);
      await press(stroke.code, false);
      typed++;
      onProgress?.(typed, strokes.length);
    }
    if (shift && this.connection === connection) await press('ShiftLeft', false);
    return { typed, total: strokes.length, skipped };
  }
}
