/**
 * Finds a TCP port that is free right now on a host address, by binding port 0 and reading
 * the port the kernel chose. Another process can take it before QEMU binds it, so the caller
 * retries with a new port when QEMU fails to listen.
 */
import net from 'node:net';

export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port was assigned'))));
    });
  });
}
