/**
 * Reads the SPICE link message, the first bytes a SPICE client sends on every channel, so the
 * relay can tell channels apart before it connects to the desktop. The message starts with a
 * 16-byte header (magic `REDQ`, major, minor, size: little-endian u32s) followed by
 * SpiceLinkMess: connection id (u32, 0 for the main channel, the main channel's session id for
 * the others), channel type (u8) and channel id (u8). Only those 22 bytes are read here.
 */

/** How many bytes of the link message the relay needs before it can admit a channel. */
export const SPICE_LINK_BYTES = 22;

/** `REDQ` read as a little-endian u32, the magic of every SPICE link message. */
const SPICE_MAGIC = 0x51444552;

/** Channel types of the SPICE protocol (spice-protocol `enums.h`). */
export const spiceChannelTypes = {
  main: 1,
  display: 2,
  inputs: 3,
  cursor: 4,
  playback: 5,
  record: 6,
  tunnel: 7,
  smartcard: 8,
  usbRedirection: 9,
  port: 10,
  webdav: 11,
} as const;

export interface SpiceLinkInfo {
  connectionId: number;
  channelType: number;
  channelId: number;
}

/**
 * Reads the channel of a SPICE link message from its first 22 bytes. Returns undefined when
 * fewer than 22 bytes are given or they do not start with `REDQ`.
 */
export function parseSpiceLink(bytes: Uint8Array): SpiceLinkInfo | undefined {
  if (bytes.length < SPICE_LINK_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, SPICE_LINK_BYTES);
  if (view.getUint32(0, true) !== SPICE_MAGIC) return undefined;
  return {
    connectionId: view.getUint32(16, true),
    channelType: view.getUint8(20),
    channelId: view.getUint8(21),
  };
}

/**
 * True while the bytes seen so far could still begin a link message (a prefix of `REDQ`),
 * so a client that sends something else is refused without waiting for 22 bytes.
 */
export function couldStartSpiceLink(bytes: Uint8Array): boolean {
  const magic = [0x52, 0x45, 0x44, 0x51];
  const n = Math.min(bytes.length, magic.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}
