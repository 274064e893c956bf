/**
 * Talks to a guest's qemu-guest-agent through the unix socket QEMU exposes for its
 * virtio-serial channel (org.qemu.guest_agent.0): one JSON command per line, one JSON answer
 * per line. Floe asks `guest-ping` to know that a guest has booted far enough to run its
 * agent, and `guest-set-time` after an instant clone's restore (its clock jumped). Without an agent in the guest, QEMU still accepts the connection but nothing answers,
 * so each ping has its own short timeout.
 */
import net from 'node:net';

/** Sends guest-ping once; true when the agent answered within `timeoutMs`. */
export function pingGuestAgent(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return askGuestAgent(socketPath, { execute: 'guest-ping' }, timeoutMs);
}

/** Sets the guest's clock to the host's time (nanoseconds since the epoch). */
export async function setGuestTime(socketPath: string, timeoutMs = 3000): Promise<void> {
  const time = BigInt(Date.now()) * 1_000_000n;
  // JSON has no bigint: the number is written by hand.
  const answered = await askGuestAgent(socketPath, `{"execute":"guest-set-time","arguments":{"time":${time}}}`, timeoutMs);
  if (!answered) throw new Error('the guest agent did not answer guest-set-time');
}

/** Sends one command; true when the agent answered it with `return` within `timeoutMs`. */
function askGuestAgent(socketPath: string, command: object | string, timeoutMs: number): Promise<boolean> {
  const line = typeof command === 'string' ? command : JSON.stringify(command);
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    let received = '';
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write(`${line}\n`));
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
