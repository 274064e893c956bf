/**
 * The benchmark's stand-in for a desktop's SPICE server (run as its own process): a TCP server
 * that reads each connection's SPICE link message (16-byte header, then as many bytes as the
 * header says) and then behaves by the channel type in it:
 * - main: answers with a small link reply and then holds the connection idle (idle consoles);
 * - display: streams the byte pattern (bench/byte-pattern.ts), `connectionId` MiB of it, then
 *   waits for the client to close (throughput);
 * - inputs: echoes every byte after the link message (round trips).
 * Usage: node --import tsx bench/spice-stand-in.ts; prints `listening <port>`.
 */
import net from 'node:net';
import { patternBlock } from './byte-pattern';

const LINK_HEADER_BYTES = 16;
const MAIN = 1;
const DISPLAY = 2;
const INPUTS = 3;
const linkReply = Buffer.concat([Buffer.from('REDQ'), Buffer.alloc(174, 1)]);
const block = patternBlock();
/** Writes of this size, walking through the block. */
const WRITE_BYTES = 256 * 1024;

function stream(socket: net.Socket, totalBytes: number): void {
  let sent = 0;
  const pump = () => {
    while (sent < totalBytes) {
      const at = sent % block.length;
      const n = Math.min(WRITE_BYTES, block.length - at, totalBytes - sent);
      sent += n;
      if (!socket.write(block.subarray(at, at + n))) return void socket.once('drain', pump);
    }
    // Not ended: websockify drops what it still holds for the browser when the desktop closes
    // first; the client closes once it has every byte.
  };
  pump();
}

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let pending = Buffer.alloc(0);
  const onLink = (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    if (pending.length < LINK_HEADER_BYTES) return;
    const linkBytes = LINK_HEADER_BYTES + pending.readUInt32LE(12);
    if (pending.length < linkBytes) return;
    socket.off('data', onLink);
    const connectionId = pending.readUInt32LE(16);
    const channelType = pending[20];
    const rest = pending.subarray(linkBytes);
    if (channelType === DISPLAY) {
      stream(socket, connectionId * 1024 * 1024);
    } else if (channelType === INPUTS) {
      if (rest.length > 0) socket.write(rest);
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
    } else if (channelType === MAIN) {
      socket.write(linkReply);
      socket.resume();
    } else {
      socket.destroy();
    }
  };
  socket.on('data', onLink);
}

const server = net.createServer(serve);
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  console.log(`listening ${(server.address() as net.AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
