/**
 * A small client for QMP, the QEMU Machine Protocol: JSON objects, one per line, over the
 * unix socket QEMU opens with `-mon chardev=...,mode=control`. `QmpClient.connect` reads the
 * greeting and leaves capabilities negotiation done; `execute` sends a command and resolves with
 * its `return` value (or rejects with the QMP error); asynchronous events (SHUTDOWN, RESET...)
 * are emitted as 'event'; 'close' fires once when the socket closes for any reason.
 *
 * QEMU serves one QMP client per socket at a time: a second client's connect succeeds but its
 * greeting only comes once the first one has gone, which `connect` reports as a timeout.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** A command QEMU answered with an error object. */
export class QmpCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly description: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${description}`);
    this.name = 'QmpCommandError';
  }
}

/** The socket closed before QEMU answered (what `quit` normally does). */
export class QmpClosedError extends Error {
  constructor(readonly command: string) {
    super(`QMP connection closed before ${command} was answered`);
    this.name = 'QmpClosedError';
  }
}

interface PendingCommand {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export interface QmpConnectOptions {
  /** How long to wait for the socket, the greeting and qmp_capabilities together. */
  timeoutMs?: number;
}

export interface QmpClientEvents {
  event: [QmpEvent];
  close: [];
}

export class QmpClient extends EventEmitter<QmpClientEvents> {
  private buffered = '';
  private nextId = 1;
  private readonly pending = new Map<string, PendingCommand>();
  private isClosed = false;
  /** What QEMU said in its greeting (version and capabilities). */
  greeting: Record<string, unknown> | undefined;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => {
      /* 'close' follows and reports it */
    });
    socket.on('close', () => this.onClose());
  }

  /** Connects, waits for the greeting and negotiates capabilities. */
  static connect(socketPath: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const client = new QmpClient(socket);
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.close();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`QMP at ${socketPath}: no greeting within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('error', (error) => fail(error));
      client.once('close', () => fail(new Error(`QMP at ${socketPath} closed during the handshake`)));
      client.greetingReceived
        .then(() => client.execute('qmp_capabilities'))
        .then(() => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(client);
        })
        .catch((error: Error) => fail(error));
    });
  }

  private greetingResolve: (() => void) | undefined;
  private readonly greetingReceived = new Promise<void>((resolve) => {
    this.greetingResolve = resolve;
  });

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends a command and resolves with QEMU's `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.isClosed) return Promise.reject(new QmpClosedError(command));
    const id = `floe-${this.nextId++}`;
    const message: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) message.arguments = args;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Closes the connection; commands still waiting reject with QmpClosedError. */
  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffered.slice(0, newline).trim();
      this.buffered = this.buffered.slice(newline + 1);
      if (line) this.onMessage(line);
      newline = this.buffered.indexOf('\n');
    }
  }

  private onMessage(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not JSON: ignore the line
    }
    if ('QMP' in message) {
      this.greeting = message.QMP as Record<string, unknown>;
      this.greetingResolve?.();
      return;
    }
    if (typeof message.event === 'string') {
      this.emit('event', message as unknown as QmpEvent);
      return;
    }
    const id = typeof message.id === 'string' ? message.id : undefined;
    const pending = id !== undefined ? this.pending.get(id) : undefined;
    if (!pending || id === undefined) return;
    this.pending.delete(id);
    if ('error' in message) {
      const error = (message.error ?? {}) as { class?: string; desc?: string };
      pending.reject(new QmpCommandError(pending.command, error.class ?? 'Error', error.desc ?? ''));
    } else {
      pending.resolve(message.return);
    }
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new QmpClosedError(pending.command));
    }
    this.emit('close');
  }
}
