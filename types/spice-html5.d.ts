/**
 * Types for the parts of @spice-project/spice-html5 (plain ES modules, no types) that Floe uses:
 * the public surface the console page loads, plus the internal files that the unit tests under
 * test/ load directly to check Floe's patches (patches/@spice-project+spice-html5+0.2.1.patch).
 */
declare module '@spice-project/spice-html5' {
  /** What onerror receives: an Error, or the WebSocket's error Event. */
  export interface SpiceError extends Error {
    /** Patched: the channel whose WebSocket closed ("main", "display", "inputs"...). */
    channel?: string;
    /** Patched: the WebSocket close code and reason, when a channel closed. */
    closeCode?: number;
    closeReason?: string;
  }
  export interface SpiceMainConnOptions {
    uri: string;
    screen_id: string;
    password?: string;
    message_id?: string;
    onerror?: (error: SpiceError | Event) => void;
    onsuccess?: (message: string) => void;
    onagent?: (connection: SpiceMainConn) => void;
  }
  /** A message as SpiceConn.send_msg writes it: the whole frame, mini header included. */
  export interface SpiceOutgoingMessage {
    buffer_size(): number;
    to_buffer(buffer: ArrayBuffer, at?: number): void;
  }
  export interface SpiceChannelConn {
    /** "connecting", "start", "link", "ticket", "ready", "error" or "closing". */
    state: string;
    send_msg(message: SpiceOutgoingMessage): void;
    cleanup(): void;
  }
  export class SpiceMainConn {
    constructor(options: SpiceMainConnOptions);
    state: string;
    inputs?: SpiceChannelConn & { mouse_mode?: number };
    agent_connected?: boolean;
    stop(message?: string): void;
    resize_window(flags: number, width: number, height: number, depth: number, x: number, y: number): void;
  }
  /** Patched: takes the connection (unpatched it read an undeclared global). */
  export function sendCtrlAltDel(connection: SpiceMainConn): void;
  export function resize_helper(connection: SpiceMainConn): void;
  export function handle_resize(): void;
}

declare module '@spice-project/spice-html5/src/main.js' {
  export * from '@spice-project/spice-html5';
}

declare module '@spice-project/spice-html5/src/inputs.js' {
  export { sendCtrlAltDel } from '@spice-project/spice-html5';
}

declare module '@spice-project/spice-html5/src/enums.js' {
  export const Constants: Record<string, number>;
}

declare module '@spice-project/spice-html5/src/ticket.js' {
  export interface SpiceRsaKey {
    n: { bitLength(): number };
    e: number;
  }
  export function create_rsa_from_mb(buffer: ArrayBuffer, at?: number): SpiceRsaKey | null;
  export function rsa_encrypt(key: SpiceRsaKey, text: string): number[] | null;
}

declare module '@spice-project/spice-html5/src/spicemsg.js' {
  export class SpiceLinkAuthTicket {
    auth_mechanism: number;
    encrypted_data: number[] | undefined;
    to_buffer(buffer: ArrayBuffer, at?: number): void;
    buffer_size(): number;
  }
}

declare module '@spice-project/spice-html5/src/display.js' {
  export class SpiceDisplayConn {
    constructor(options: { uri: string; parent: unknown; type: number; chan_id: number; connection_id?: number });
    state: string;
    surfaces: Record<number, unknown> | undefined;
    primary_surface: number | undefined;
    process_channel_message(message: { type: number; size?: number; data: ArrayBuffer }): boolean;
    cleanup(): void;
  }
}

declare module '@spice-project/spice-html5/src/port.js' {
  export class SpicePortConn {
    constructor(options: { uri: string; parent: unknown; type: number; chan_id: number; connection_id?: number });
    state: string;
    portName?: string;
    process_channel_message(message: { type: number; size?: number; data: ArrayBuffer }): boolean;
    cleanup(): void;
  }
}

declare module '@spice-project/spice-html5/src/atKeynames.js' {
  /** AT keyboard key numbers by X.Org name (KEY_A, KEY_ShiftL...). */
  export const KeyNames: Record<string, number>;
}
