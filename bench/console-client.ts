/**
 * The benchmark's browser stand-in: a lean client for a console relay that costs the harness as
 * little as possible, so the relay, not the client, is what is measured. Over a WebSocket (Floe's
 * relay, websockify) it sends the upgrade with subprotocol `binary`, masked binary frames (mask
 * key 0: the relay still unmasks), answers pings, and hands the payload of every data frame to
 * `onPayload` as slices of the received chunk (no copies). Over plain TCP (the baseline) the
 * chunks are the payload. Every connection starts with a SPICE link message, as real clients do.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { buildLinkMessage } from '../server/hypervisor/qemu/spice-login';

export type RelayKind = 'floe' | 'websockify' | 'tcp';

export interface ConsoleEndpoint {
  kind: RelayKind;
  host: string;
  port: number;
  /** Path and query of the WebSocket upgrade (ticket or token included); unused for TCP. */
  path: string;
}

/** Silence after which a connection counts as failed. */
const OPEN_TIMEOUT_MS = 10_000;
const OPCODE_CONTINUATION = 0;
const OPCODE_BINARY = 2;
const OPCODE_CLOSE = 8;
const OPCODE_PING = 9;

/** The SPICE link message a client sends first (spice-login's, as spice-html5 sends it). */
export const spiceLinkMessage = (channelType: number, connectionId = 0) => buildLinkMessage(channelType, 0, connectionId);

export class ConsoleClient {
  /** Called with each piece of payload: `bytes[start, end)`. Valid only during the call. */
  onPayload: (bytes: Buffer, start: number, end: number) => void = () => {};
  /** Resolves when the socket has closed (for any reason). */
  readonly closed: Promise<void>;
  private readonly header = Buffer.alloc(14);
  private headerBytes = 0;
  private payloadLeft = 0;
  private opcode = 0;
  private control: Buffer[] = [];

  private constructor(
    readonly socket: net.Socket,
    private readonly framed: boolean,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects, upgrades (unless TCP) and sends the link message. Rejects on any refusal. */
  static async open(endpoint: ConsoleEndpoint, link: Buffer): Promise<ConsoleClient> {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    socket.on('error', () => socket.destroy());
    // A relay that stops answering fails the connection instead of stalling the run; callers
    // switch this off (setTimeout(0)) where silence is expected.
    socket.setTimeout(OPEN_TIMEOUT_MS, () => socket.destroy());
    const client = new ConsoleClient(socket, endpoint.kind !== 'tcp');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('close', () => reject(new Error(`could not connect to ${endpoint.kind}`)));
    });
    if (client.framed) {
      const rest = await upgrade(socket, endpoint);
      socket.on('data', client.onFramedData);
      if (rest.length > 0) client.onFramedData(rest);
    } else {
      socket.on('data', (chunk: Buffer) => client.onPayload(chunk, 0, chunk.length));
    }
    client.send(link);
    return client;
  }

  /** Sends bytes: one masked binary frame over a WebSocket, as they are over TCP. */
  send(payload: Buffer): void {
    if (!this.framed) {
      this.socket.write(payload);
      return;
    }
    const extended = payload.length > 125 ? (payload.length > 0xffff ? 8 : 2) : 0;
    const frame = Buffer.allocUnsafe(2 + extended + 4 + payload.length);
    frame[0] = 0x80 | OPCODE_BINARY;
    if (extended === 0) frame[1] = 0x80 | payload.length;
    else if (extended === 2) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(payload.length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    frame.writeUInt32BE(0, 2 + extended);
    payload.copy(frame, 6 + extended);
    this.socket.write(frame);
  }

  close(): void {
    this.socket.destroy();
  }

  private readonly onFramedData = (chunk: Buffer): void => {
    let at = 0;
    const length = chunk.length;
    while (at < length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, length - at);
        if (this.opcode === OPCODE_BINARY || this.opcode === OPCODE_CONTINUATION) this.onPayload(chunk, at, at + n);
        else this.control.push(Buffer.from(chunk.subarray(at, at + n)));
        this.payloadLeft -= n;
        at += n;
        if (this.payloadLeft === 0) this.frameEnded();
        continue;
      }
      this.header[this.headerBytes++] = chunk[at++]!;
      if (this.headerBytes < 2) continue;
      const short = this.header[1]! & 0x7f;
      if (this.header[1]! & 0x80) throw new Error('a server sent a masked frame');
      const need = short === 126 ? 4 : short === 127 ? 10 : 2;
      if (this.headerBytes < need) continue;
      const opcode = this.header[0]! & 0x0f;
      if (opcode !== OPCODE_CONTINUATION) this.opcode = opcode;
      this.payloadLeft = short === 126 ? this.header.readUInt16BE(2) : short === 127 ? Number(this.header.readBigUInt64BE(2)) : short;
      this.headerBytes = 0;
      if (this.payloadLeft === 0) this.frameEnded();
    }
  };

  private frameEnded(): void {
    const opcode = this.opcode;
    if (opcode === OPCODE_BINARY || opcode === OPCODE_CONTINUATION) return;
    const payload = Buffer.concat(this.control);
    this.control = [];
    if (opcode === OPCODE_PING) {
      const pong = Buffer.alloc(6 + payload.length);
      pong[0] = 0x8a;
      pong[1] = 0x80 | payload.length;
      payload.copy(pong, 6);
      this.socket.write(pong);
    } else if (opcode === OPCODE_CLOSE) {
      this.socket.end();
    }
  }
}

/** Sends the upgrade request and reads the answer; returns the bytes after it. */
function upgrade(socket: net.Socket, endpoint: ConsoleEndpoint): Promise<Buffer> {
  socket.write(
    `GET ${endpoint.path} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n',
  );
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      const head = received.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        return reject(new Error(`${endpoint.kind} refused the upgrade: ${head.split('\r\n')[0]}`));
      }
      resolve(received.subarray(end + 4));
    };
    const onClose = () => reject(new Error(`${endpoint.kind} closed during the upgrade`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
