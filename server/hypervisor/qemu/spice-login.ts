/**
 * A minimal SPICE login over TCP, for tests and health checks: sends the link message of one
 * channel (main by default) the way spice-html5 does, encrypts the password with the RSA key
 * the server sends back (OAEP, SHA-1, password plus a NUL byte) and reads the 4-byte link
 * result. It tells whether a password opens a SPICE server right now, and then hangs up.
 *
 * Wire layout (little-endian): header `REDQ` u32 major=2 u32 minor=2 u32 size; SpiceLinkMess
 * u32 connection_id, u8 channel_type, u8 channel_id, u32 num_common_caps, u32 num_channel_caps,
 * u32 caps_offset, caps. Reply: same header, then u32 error, 162-byte RSA key (DER
 * SubjectPublicKeyInfo), caps. Then the client sends u32 auth mechanism (1 = SPICE) and the
 * 128-byte ticket; the server answers u32 link error (0 = OK, 7 = permission denied).
 */
import crypto from 'node:crypto';
import net from 'node:net';

export const SPICE_MAGIC = 'REDQ';
export const SPICE_VERSION_MAJOR = 2;
export const SPICE_VERSION_MINOR = 2;
export const SPICE_CHANNEL_MAIN = 1;
export const SPICE_LINK_ERR_OK = 0;
export const SPICE_LINK_ERR_PERMISSION_DENIED = 7;
const SPICE_TICKET_PUBKEY_BYTES = 162;
const SPICE_TICKET_BYTES = 128;
const SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION = 0;
const SPICE_COMMON_CAP_AUTH_SPICE = 1;
const SPICE_COMMON_CAP_MINI_HEADER = 3;
const SPICE_MAIN_CAP_AGENT_CONNECTED_TOKENS = 2;

/**
 * - `ok`: the password was accepted
 * - `denied`: the server said permission denied (wrong, unset or expired password)
 * - `unreachable`: no TCP connection (nothing listens)
 * - `timeout`: the server did not answer in time
 * - `protocol-error`: anything else (closed early, bad magic, another link error)
 */
export type SpiceLoginResult = 'ok' | 'denied' | 'unreachable' | 'timeout' | 'protocol-error';

export interface SpiceLoginOptions {
  timeoutMs?: number;
  /** Channel to log in to (1 = main). Other channels need the main channel's connection id. */
  channelType?: number;
  channelId?: number;
  connectionId?: number;
  /** An already connected socket to log in over (e.g. a tunnel through an HTTP CONNECT proxy). */
  socket?: net.Socket;
}

/** Builds the link header plus SpiceLinkMess a client sends first. */
export function buildLinkMessage(channelType: number, channelId = 0, connectionId = 0): Buffer {
  const commonCaps = [
    (1 << SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION) | (1 << SPICE_COMMON_CAP_MINI_HEADER),
  ];
  const channelCaps = channelType === SPICE_CHANNEL_MAIN ? [1 << SPICE_MAIN_CAP_AGENT_CONNECTED_TOKENS] : [];
  const capsOffset = 18;
  const messageSize = capsOffset + 4 * (commonCaps.length + channelCaps.length);
  const buffer = Buffer.alloc(16 + messageSize);
  buffer.write(SPICE_MAGIC, 0, 'latin1');
  buffer.writeUInt32LE(SPICE_VERSION_MAJOR, 4);
  buffer.writeUInt32LE(SPICE_VERSION_MINOR, 8);
  buffer.writeUInt32LE(messageSize, 12);
  let at = 16;
  buffer.writeUInt32LE(connectionId, at);
  at += 4;
  buffer.writeUInt8(channelType, at);
  at += 1;
  buffer.writeUInt8(channelId, at);
  at += 1;
  buffer.writeUInt32LE(commonCaps.length, at);
  at += 4;
  buffer.writeUInt32LE(channelCaps.length, at);
  at += 4;
  buffer.writeUInt32LE(capsOffset, at);
  at += 4;
  for (const cap of [...commonCaps, ...channelCaps]) {
    buffer.writeUInt32LE(cap >>> 0, at);
    at += 4;
  }
  return buffer;
}

/** Encrypts a SPICE password (ASCII, at most 59 characters) into the 128-byte ticket. */
export function encryptTicket(publicKeyDer: Buffer, password: string): Buffer {
  const key = crypto.createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
  const encrypted = crypto.publicEncrypt(
    { key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    Buffer.concat([Buffer.from(password, 'latin1'), Buffer.from([0])]),
  );
  // publicEncrypt returns the full modulus length; pad on the left if a shorter key ever shows up.
  if (encrypted.length >= SPICE_TICKET_BYTES) return encrypted.subarray(0, SPICE_TICKET_BYTES);
  return Buffer.concat([Buffer.alloc(SPICE_TICKET_BYTES - encrypted.length), encrypted]);
}

/** Logs in to one SPICE channel with `password` and reports what the server said. */
export function trySpiceLogin(
  host: string,
  port: number,
  password: string,
  options: SpiceLoginOptions = {},
): Promise<SpiceLoginResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const channelType = options.channelType ?? SPICE_CHANNEL_MAIN;
  return new Promise((resolve) => {
    const socket = options.socket ?? net.connect({ host, port, noDelay: true });
    let received = Buffer.alloc(0);
    let stage: 'connecting' | 'reply' | 'result' = 'connecting';
    let settled = false;
    const finish = (result: SpiceLoginResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);

    const sendLink = () => {
      stage = 'reply';
      socket.write(buildLinkMessage(channelType, options.channelId ?? 0, options.connectionId ?? 0));
    };
    if (options.socket) sendLink();
    else socket.once('connect', sendLink);
    socket.on('error', () => finish(stage === 'connecting' ? 'unreachable' : 'protocol-error'));
    socket.on('close', () => finish(stage === 'connecting' ? 'unreachable' : 'protocol-error'));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (stage === 'reply') {
        if (received.length < 16) return;
        if (received.toString('latin1', 0, 4) !== SPICE_MAGIC) return finish('protocol-error');
        const size = received.readUInt32LE(12);
        if (received.length < 16 + size) return;
        const reply = received.subarray(16, 16 + size);
        received = received.subarray(16 + size);
        if (reply.length < 4 + SPICE_TICKET_PUBKEY_BYTES) return finish('protocol-error');
        const linkError = reply.readUInt32LE(0);
        if (linkError === SPICE_LINK_ERR_PERMISSION_DENIED) return finish('denied');
        if (linkError !== SPICE_LINK_ERR_OK) return finish('protocol-error');
        let ticket: Buffer;
        try {
          ticket = encryptTicket(reply.subarray(4, 4 + SPICE_TICKET_PUBKEY_BYTES), password);
        } catch {
          return finish('protocol-error');
        }
        const mechanism = Buffer.alloc(4);
        mechanism.writeUInt32LE(SPICE_COMMON_CAP_AUTH_SPICE, 0);
        stage = 'result';
        socket.write(Buffer.concat([mechanism, ticket]));
      }
      if (stage === 'result' && received.length >= 4) {
        const result = received.readUInt32LE(0);
        if (result === SPICE_LINK_ERR_OK) return finish('ok');
        if (result === SPICE_LINK_ERR_PERMISSION_DENIED) return finish('denied');
        return finish('protocol-error');
      }
    });
  });
}
