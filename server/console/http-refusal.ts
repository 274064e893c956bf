/**
 * Refuses a WebSocket upgrade with a plain HTTP response (`HTTP/1.1 401 Unauthorized`, a
 * text/plain reason) and closes the socket. Used before the WebSocket handshake, so a refused
 * browser never gets a WebSocket and no byte reaches the desktop.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = reason.replace(/[\r\n]+/g, ' ');
  const response =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\n` +
    'Connection: close\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    '\r\n' +
    body;
  // Destroy once the response is flushed (ending alone would wait for the client's FIN).
  socket.once('finish', () => socket.destroy());
  socket.end(response);
}
