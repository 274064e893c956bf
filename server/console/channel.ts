/**
 * One console channel: a browser WebSocket relayed to its own TCP connection to the desktop's
 * SPICE server. The first bytes from the browser are the SPICE link message; the channel reads
 * it, asks its owner whether to admit it, and only then connects to the desktop. From there it
 * forwards chunks as they come, both ways, always as binary frames, with backpressure: it stops
 * reading the desktop while too much waits for the browser, and stops reading the browser while
 * the desktop's socket is full. This is the hot path: per chunk it only adds to byte counters.
 *
 * Reads from the desktop (`onread`) first go into one 64 KiB buffer shared by every channel,
 * and what was read is copied out of it: quiet channels (idle consoles, input, cursor) hold no
 * read buffer of their own. A channel whose read fills half of it moves to its own 256 KiB
 * buffer: up to 256 KiB per read instead of Node's 64 KiB, sent to the browser as a slice of it,
 * without a copy. That buffer is read into again only once the browser's socket has taken
 * everything (none of its bytes still queued); while a send is pending the next read gets a fresh
 * one. Measured in docs/benchmarks.md.
 */
import net from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { couldStartSpiceLink, parseSpiceLink, SPICE_LINK_BYTES, type SpiceLinkInfo } from './link-header';
import type { ConsoleTarget } from './types';

/** Stop reading the desktop when this much waits to be sent to the browser... */
export const BROWSER_HIGH_WATER_BYTES = 1024 * 1024;
/** ...and read it again once no more than this waits. */
export const BROWSER_LOW_WATER_BYTES = 256 * 1024;
/** How much one read from the desktop may take on a busy channel (the largest frame to the browser). */
export const DESKTOP_READ_BYTES = 256 * 1024;
/** The read buffer all quiet channels share (the file's header); its bytes are copied out. */
const sharedReadBuffer = Buffer.allocUnsafeSlow(64 * 1024);
/** A read this large makes the channel busy: it gets its own buffer. */
const BUSY_READ_BYTES = sharedReadBuffer.length / 2;
/** A desktop that has not accepted the TCP connection by then is unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;
/** After asking a peer to close, force the socket shut if it has not closed by then. */
const CLOSE_GRACE_MS = 3_000;
/** WebSocket close reasons are limited to 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;
const SEND_BINARY = { binary: true } as const;

export interface ChannelOwner {
  /** The link message arrived: return a reason to refuse the channel (no TCP connect). */
  admit(channel: ConsoleChannel, link: SpiceLinkInfo): string | undefined;
  /** The WebSocket has closed: the channel is finished and its counters are final. */
  finished(channel: ConsoleChannel): void;
}

export class ConsoleChannel {
  /** Which SPICE channel this is, once its link message has arrived. */
  link: SpiceLinkInfo | undefined;
  bytesToDesktop = 0;
  bytesToBrowser = 0;
  /** True if a pong (or the opening) came since the last ping. */
  answeredPing = true;
  /** Why the channel closes; the first cause wins. */
  endReason: string | undefined;
  /** Reading from the browser is paused because the desktop is slow to take bytes. */
  browserReadPaused = false;

  private desktopReadPaused = false;
  private desktop: net.Socket | undefined;
  private desktopErrorCode: string | undefined;
  /** The channel's own read buffer once it is busy (see the file's header). */
  private readBuffer: Buffer | undefined;
  private desktopEnding = false;
  private browserErrorCode: string | undefined;
  /** Link bytes received so far, while fewer than 22 have come (rare). */
  private partialLink: Buffer | undefined;
  private browserCloseTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    private readonly target: ConsoleTarget,
    private readonly owner: ChannelOwner,
  ) {
    ws.on('message', this.onBrowserMessage);
    ws.on('pong', this.onPong);
    ws.on('error', this.onBrowserError);
    ws.on('close', this.onBrowserClose);
  }

  /**
   * Closes the channel: a close frame to the browser with `code` and `browserReason`, an end to
   * the desktop. `endReason` is what the channel reports; nothing happens if it already closes.
   */
  close(code: number, browserReason: string, endReason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = endReason;
    this.closeBrowser(code, browserReason);
    this.endDesktop();
  }

  /** Drops the browser's connection at once, without a closing handshake. */
  terminate(endReason: string): void {
    this.endReason ??= endReason;
    this.ws.terminate();
    this.endDesktop();
  }

  /** Destroys the desktop connection at once (server shutdown). */
  destroyDesktop(): void {
    this.desktop?.destroy();
  }

  private readonly onBrowserMessage = (data: RawData, isBinary: boolean): void => {
    if (this.endReason !== undefined) return;
    if (!isBinary) {
      this.close(1003, 'binary frames only', 'browser sent a text frame');
      return;
    }
    // With the default binaryType ('nodebuffer') every message is one Buffer.
    const chunk = data as Buffer;
    const desktop = this.desktop;
    if (desktop === undefined) {
      this.takeLinkBytes(chunk);
      return;
    }
    this.bytesToDesktop += chunk.length;
    if (!desktop.write(chunk) && !this.browserReadPaused) {
      this.browserReadPaused = true;
      this.ws.pause();
    }
  };

  private takeLinkBytes(chunk: Buffer): void {
    const bytes = this.partialLink === undefined ? chunk : Buffer.concat([this.partialLink, chunk]);
    if (!couldStartSpiceLink(bytes)) {
      this.close(1002, 'expected a SPICE link message', 'protocol error: no SPICE link message');
      return;
    }
    if (bytes.length < SPICE_LINK_BYTES) {
      this.partialLink = bytes;
      return;
    }
    this.partialLink = undefined;
    const link = parseSpiceLink(bytes);
    if (link === undefined) {
      this.close(1002, 'expected a SPICE link message', 'protocol error: no SPICE link message');
      return;
    }
    this.link = link;
    const refusal = this.owner.admit(this, link);
    if (this.endReason !== undefined) return;
    if (refusal !== undefined) {
      this.close(1008, refusal, `channel refused: ${refusal}`);
      return;
    }
    this.connectDesktop(bytes);
  }

  private connectDesktop(firstBytes: Buffer): void {
    const desktop = net.connect({
      host: this.target.host,
      port: this.target.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 30_000,
      onread: { buffer: this.nextReadBuffer, callback: this.onDesktopData },
    });
    this.desktop = desktop;
    desktop.setTimeout(CONNECT_TIMEOUT_MS);
    desktop.once('connect', () => desktop.setTimeout(0));
    desktop.once('timeout', () => {
      this.desktopErrorCode ??= 'connect timeout';
      desktop.destroy();
    });
    desktop.on('drain', this.onDesktopDrain);
    desktop.on('error', this.onDesktopError);
    desktop.on('close', this.onDesktopClose);
    // A connecting socket queues writes until it is connected.
    this.bytesToDesktop += firstBytes.length;
    if (!desktop.write(firstBytes) && !this.browserReadPaused) {
      this.browserReadPaused = true;
      this.ws.pause();
    }
  }

  /** Called by Node before each read from the desktop: the buffer to read into. */
  private readonly nextReadBuffer = (): Buffer => {
    if (this.readBuffer === undefined) return sharedReadBuffer;
    // Reused only if the browser's socket holds none of its bytes any more.
    if (this.ws.bufferedAmount > 0) this.readBuffer = Buffer.allocUnsafeSlow(DESKTOP_READ_BYTES);
    return this.readBuffer;
  };

  /** `bytes` bytes from the desktop are in `buffer`; returns false to stop reading the desktop. */
  private readonly onDesktopData = (bytes: number, buffer: Buffer): boolean => {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return true;
    this.bytesToBrowser += bytes;
    let chunk = buffer.subarray(0, bytes);
    if (buffer === sharedReadBuffer) {
      // The next read of any channel may land here: the browser gets a copy.
      chunk = Buffer.from(chunk);
      if (bytes >= BUSY_READ_BYTES) this.readBuffer = Buffer.allocUnsafeSlow(DESKTOP_READ_BYTES);
    }
    ws.send(chunk, SEND_BINARY, this.afterBrowserWrite);
    if (!this.desktopReadPaused && ws.bufferedAmount > BROWSER_HIGH_WATER_BYTES) {
      this.desktopReadPaused = true;
      return false;
    }
    return true;
  };

  /** Called as each frame reaches the browser's socket: read the desktop again once drained. */
  private readonly afterBrowserWrite = (): void => {
    if (this.desktopReadPaused && this.ws.bufferedAmount <= BROWSER_LOW_WATER_BYTES) {
      this.desktopReadPaused = false;
      this.desktop?.resume();
    }
  };

  private readonly onDesktopDrain = (): void => {
    if (!this.browserReadPaused) return;
    this.browserReadPaused = false;
    // Pongs were not read while paused: do not count that against the browser.
    this.answeredPing = true;
    this.ws.resume();
  };

  private readonly onDesktopError = (error: NodeJS.ErrnoException): void => {
    this.desktopErrorCode ??= error.code ?? 'error';
  };

  private readonly onDesktopClose = (): void => {
    if (this.endReason !== undefined) return;
    const errorCode = this.desktopErrorCode;
    if (errorCode === undefined) {
      this.endReason = 'desktop closed';
      this.closeBrowser(1000, 'desktop closed');
    } else {
      this.endReason = `desktop error: ${errorCode}`;
      this.closeBrowser(1011, 'desktop error');
    }
  };

  private readonly onPong = (): void => {
    this.answeredPing = true;
  };

  private readonly onBrowserError = (error: Error): void => {
    this.browserErrorCode ??= (error as NodeJS.ErrnoException).code ?? 'error';
  };

  private readonly onBrowserClose = (): void => {
    if (this.endReason === undefined) {
      const errorCode = this.browserErrorCode;
      this.endReason = errorCode === undefined ? 'browser closed' : `browser error: ${errorCode}`;
    }
    clearTimeout(this.browserCloseTimer);
    this.partialLink = undefined;
    this.endDesktop();
    this.owner.finished(this);
  };

  private closeBrowser(code: number, reason: string): void {
    const ws = this.ws;
    if (ws.readyState === WebSocket.CLOSED) return;
    if (ws.readyState === WebSocket.OPEN) ws.close(code, truncateCloseReason(reason));
    // Read again so the browser's close frame is seen (its data is dropped from now on).
    if (this.browserReadPaused) {
      this.browserReadPaused = false;
      ws.resume();
    }
    if (this.browserCloseTimer === undefined) {
      this.browserCloseTimer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    }
  }

  /** Sends the desktop a FIN, drops what it still sends, and destroys it if it lingers. */
  private endDesktop(): void {
    const desktop = this.desktop;
    if (desktop === undefined || desktop.destroyed || this.desktopEnding) return;
    this.desktopEnding = true;
    desktop.end();
    desktop.resume();
    const timer = setTimeout(() => desktop.destroy(), CLOSE_GRACE_MS);
    desktop.once('close', () => clearTimeout(timer));
  }
}

/** Cuts a close reason to the 123 bytes a WebSocket close frame can carry. */
export function truncateCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_CLOSE_REASON_BYTES);
  while (Buffer.byteLength(cut) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1);
  return cut;
}

/** Close codes a server may send: 1000-1003, 1007-1014, and 3000-4999 for applications. */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}
