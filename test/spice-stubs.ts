/**
 * The few browser globals spice-html5's modules touch, for unit tests that load the patched
 * package's own files in Node: `navigator` (read at import by its big-number and random
 * modules), `window` timers, a `WebSocket` that records what is sent and whether it was
 * closed, and a `document` that only knows the elements a test registers.
 */
import nodeTimers from 'node:timers';

export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  readonly url: string;
  readonly protocol: string;
  binaryType = 'blob';
  readyState = 0;
  closed = false;
  readonly sent: ArrayBuffer[] = [];
  private readonly listeners = new Map<string, Array<(event: unknown) => void>>();

  constructor(url: string, protocol: string) {
    this.url = url;
    this.protocol = protocol;
    FakeWebSocket.instances.push(this);
  }

  addEventListener(type: string, listener: (event: unknown) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  /** Delivers an event the way a browser would: `this` is the socket. */
  dispatch(type: string, event: Record<string, unknown> = {}): void {
    for (const listener of this.listeners.get(type) ?? []) listener.call(this, { target: this, ...event });
  }

  send(data: ArrayBuffer): void {
    this.sent.push(data);
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }
}

export interface FakeElement {
  id?: string;
  parentNode: FakeElement | null;
  children: FakeElement[];
  style: Record<string, string>;
  removeChild(child: FakeElement): FakeElement;
  appendChild(child: FakeElement): FakeElement;
}

export function fakeElement(id?: string): FakeElement {
  const element: FakeElement = {
    id,
    parentNode: null,
    children: [],
    style: {},
    removeChild(child) {
      const at = element.children.indexOf(child);
      if (at < 0) throw new Error('NotFoundError: the node to be removed is not a child of this node');
      element.children.splice(at, 1);
      child.parentNode = null;
      return child;
    },
    appendChild(child) {
      element.children.push(child);
      child.parentNode = element;
      return child;
    },
  };
  return element;
}

/** Elements `document.getElementById` finds (only those attached to the document). */
export const documentElements = new Map<string, FakeElement>();

export function installBrowserStubs(): void {
  const g = globalThis as Record<string, unknown>;
  Object.defineProperty(globalThis, 'navigator', {
    value: { appName: 'Netscape', appVersion: '5.0', userAgent: 'Mozilla/5.0 (node:test) Chrome/120' },
    configurable: true,
    writable: true,
  });
  // spice-html5 arms a 30 s connect timeout per channel: unref it so that a test never waits on it.
  g.window = {
    setTimeout: (fn: () => void, ms: number, ...args: unknown[]) => (nodeTimers.setTimeout(fn, ms, ...args) as unknown as NodeJS.Timeout).unref(),
    clearTimeout: (timer: NodeJS.Timeout) => nodeTimers.clearTimeout(timer),
  };
  g.WebSocket = FakeWebSocket;
  g.document = {
    getElementById: (id: string) => documentElements.get(id) ?? null,
    createElement: () => fakeElement(),
  };
}
