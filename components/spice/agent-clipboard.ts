/**
 * Clipboard through the SPICE agent, beside spice-html5 0.2.1 (which has none). Installed on
 * one SpiceMainConn: it adds the clipboard capability (by demand, UTF-8 text) to the agent
 * capabilities the connection announces, and takes the agent's clipboard messages before
 * spice-html5 sees them (it would drop them). Both directions follow the agent protocol:
 * - guest → page: the guest grabs the clipboard (GRAB with its types); if text is among them
 *   we REQUEST it, and the CLIPBOARD reply's text goes to `onGuestText`;
 * - page → guest: `offerText` GRABs the clipboard for UTF-8 text; when the guest REQUESTs it
 *   (someone pastes there) we answer with a CLIPBOARD message carrying the text. Right after the
 *   GRAB it sends a REQUEST of its own: spice-vdagent handles the two in order and, owning the
 *   guest's clipboard for us by then, answers the REQUEST with an empty CLIPBOARD (type NONE).
 *   That answer is the proof that a paste in the guest now asks us, so `offerText` resolves on
 *   it, and the page sends the paste shortcut only then (no fixed wait that a busy guest outruns).
 * Without the selection capability the messages carry no selection byte (CLIPBOARD only).
 * Agent messages longer than one SPICE message (2 KiB chunks) are put back together here.
 */

/** VDAgent message types and clipboard constants (spice-protocol vd_agent.h). */
export const VD_AGENT = {
  CLIPBOARD: 4,
  ANNOUNCE_CAPABILITIES: 6,
  CLIPBOARD_GRAB: 7,
  CLIPBOARD_REQUEST: 8,
  CLIPBOARD_RELEASE: 9,
  CAP_CLIPBOARD_BY_DEMAND: 5,
  CLIPBOARD_NONE: 0,
  CLIPBOARD_UTF8_TEXT: 1,
} as const;
const SPICE_MSG_MAIN_AGENT_DATA = 109;
const AGENT_HEADER_BYTES = 20;

/** The part of a spice-html5 SpiceMainConn this module uses. */
export interface AgentConnection {
  process_channel_message(msg: { type: number; data: ArrayBuffer }): boolean;
  announce_agent_capabilities(request: number): void;
  send_agent_message(type: number, message: { buffer_size(): number; to_buffer(a: ArrayBuffer, at?: number): void }): void;
}

export interface AgentClipboard {
  /**
   * Offers `text` to the guest's clipboard (pasted there with the guest's usual shortcut).
   * Resolves true once the guest's agent has taken its clipboard for us, false when the guest
   * grabbed its clipboard again meanwhile or a newer offer replaced this one. No answer from the
   * agent leaves it pending: callers bound the wait.
   */
  offerText(text: string): Promise<boolean>;
}

/** A message body of raw bytes, as spice-html5's send_agent_message wants it. */
function body(bytes: Uint8Array): { buffer_size(): number; to_buffer(a: ArrayBuffer, at?: number): void } {
  return {
    buffer_size: () => bytes.byteLength,
    to_buffer: (a, at = 0) => new Uint8Array(a, at, bytes.byteLength).set(bytes),
  };
}

function uint32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v, true));
  return out;
}

/** The capability words spice-html5 announces, with clipboard-by-demand added. */
function capabilitiesWithClipboard(request: number, baseCaps: number): Uint8Array {
  return uint32s(request, baseCaps | (1 << VD_AGENT.CAP_CLIPBOARD_BY_DEMAND));
}

/** spice-html5's own capabilities (mouse state 1, monitors config 2, reply 9). */
const SPICE_HTML5_CAPS = (1 << 1) | (1 << 2) | (1 << 9);

export function installAgentClipboard(connection: AgentConnection, onGuestText: (text: string) => void): AgentClipboard {
  let offered: Uint8Array | undefined;
  /** Settles the latest offer: true when the agent answered its probe, false when overtaken. */
  let settleOffer: ((taken: boolean) => void) | undefined;
  const settle = (taken: boolean) => {
    settleOffer?.(taken);
    settleOffer = undefined;
  };
  let pending: { type: number; size: number; chunks: Uint8Array[]; have: number } | undefined;
  const processOriginal = connection.process_channel_message.bind(connection);

  connection.announce_agent_capabilities = (request: number) => {
    connection.send_agent_message(VD_AGENT.ANNOUNCE_CAPABILITIES, body(capabilitiesWithClipboard(request, SPICE_HTML5_CAPS)));
  };

  const handle = (type: number, data: Uint8Array): void => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (type === VD_AGENT.CLIPBOARD_GRAB) {
      const types: number[] = [];
      for (let at = 0; at + 4 <= data.byteLength; at += 4) types.push(view.getUint32(at, true));
      offered = undefined; // the guest owns the clipboard now
      settle(false);
      if (types.includes(VD_AGENT.CLIPBOARD_UTF8_TEXT)) {
        connection.send_agent_message(VD_AGENT.CLIPBOARD_REQUEST, body(uint32s(VD_AGENT.CLIPBOARD_UTF8_TEXT)));
      }
    } else if (type === VD_AGENT.CLIPBOARD && data.byteLength >= 4 && view.getUint32(0, true) === VD_AGENT.CLIPBOARD_UTF8_TEXT) {
      onGuestText(new TextDecoder().decode(data.subarray(4)));
    } else if (type === VD_AGENT.CLIPBOARD && data.byteLength >= 4 && view.getUint32(0, true) === VD_AGENT.CLIPBOARD_NONE) {
      settle(true); // the answer to the probe after our GRAB: the agent holds the clipboard for us
    } else if (type === VD_AGENT.CLIPBOARD_REQUEST) {
      const text = offered ?? new Uint8Array();
      const reply = new Uint8Array(4 + text.byteLength);
      reply.set(uint32s(VD_AGENT.CLIPBOARD_UTF8_TEXT));
      reply.set(text, 4);
      connection.send_agent_message(VD_AGENT.CLIPBOARD, body(reply));
    }
  };

  connection.process_channel_message = (msg) => {
    if (msg.type !== SPICE_MSG_MAIN_AGENT_DATA) return processOriginal(msg);
    const bytes = new Uint8Array(msg.data);
    if (pending) {
      pending.chunks.push(bytes);
      pending.have += bytes.byteLength;
      if (pending.have < pending.size) return true;
      const whole = new Uint8Array(pending.have);
      let at = 0;
      for (const chunk of pending.chunks) {
        whole.set(chunk, at);
        at += chunk.byteLength;
      }
      const { type } = pending;
      pending = undefined;
      handle(type, whole.subarray(0, whole.byteLength));
      return true;
    }
    if (bytes.byteLength < AGENT_HEADER_BYTES) return processOriginal(msg);
    const header = new DataView(msg.data);
    const type = header.getUint32(4, true);
    const size = header.getUint32(16, true);
    if (type !== VD_AGENT.CLIPBOARD_GRAB && type !== VD_AGENT.CLIPBOARD && type !== VD_AGENT.CLIPBOARD_REQUEST && type !== VD_AGENT.CLIPBOARD_RELEASE) {
      return processOriginal(msg);
    }
    const data = bytes.subarray(AGENT_HEADER_BYTES);
    if (data.byteLength < size) {
      pending = { type, size, chunks: [data.slice()], have: data.byteLength };
      return true;
    }
    if (type !== VD_AGENT.CLIPBOARD_RELEASE) handle(type, data.subarray(0, size));
    return true;
  };

  return {
    offerText(text: string) {
      settle(false);
      offered = new TextEncoder().encode(text);
      const taken = new Promise<boolean>((resolve) => {
        settleOffer = resolve;
      });
      connection.send_agent_message(VD_AGENT.CLIPBOARD_GRAB, body(uint32s(VD_AGENT.CLIPBOARD_UTF8_TEXT)));
      connection.send_agent_message(VD_AGENT.CLIPBOARD_REQUEST, body(uint32s(VD_AGENT.CLIPBOARD_UTF8_TEXT)));
      return taken;
    },
  };
}
