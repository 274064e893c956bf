/**
 * Talks to a guest's qemu-guest-agent through the unix socket QEMU exposes for its
 * virtio-serial channel (org.qemu.guest_agent.0): one JSON command per line, one JSON answer
 * per line. Floe only asks `guest-ping` to know that a guest has booted far enough to run its
 * agent. Without an agent in the guest, QEMU still accepts the connection but nothing answers,
 * so each ping has its own short timeout.
 */
import net from 'node:net';

/** Sends guest-ping once; true when the agent answered within `timeoutMs`. */
export function pingGuestAgent(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    let received = '';
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write('{"execute":"guest-ping"}\n'));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      for (const line of received.split('\n').slice(0, -1)) {
        try {
          if ('return' in (JSON.parse(line) as object)) return finish(true);
        } catch {
          // Not JSON (a partial or stray line): keep reading.
        }
      }
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

/** Pings until the agent answers or `deadline` (epoch ms) passes; `checkAlive` throws if the VM died. */
export async function waitForGuestAgent(socketPath: string, deadline: number, checkAlive: () => void): Promise<void> {
  for (;;) {
    checkAlive();
    if (await pingGuestAgent(socketPath, Math.max(100, Math.min(1000, deadline - Date.now())))) return;
    if (Date.now() >= deadline) throw new Error('the guest agent did not answer guest-ping in time');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
