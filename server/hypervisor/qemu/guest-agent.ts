/**
 * Talks to a guest's qemu-guest-agent through the unix socket QEMU exposes for its
 * virtio-serial channel (org.qemu.guest_agent.0): one JSON command per line, one JSON answer
 * per line. Floe asks `guest-ping` to know that a guest has booted far enough to run its
 * agent, and `guest-set-time` after an instant clone's restore (its clock jumped); `guestExec`
 * runs a program in the guest (tests). Without an agent in the guest, QEMU still accepts the connection but nothing answers,
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

/**
 * The first-run hook of a clone: the template's `CLONE_HOOK` (if it has one) is run through
 * the agent's guest-exec with the desktop's id, to give the clone its own identity (hostname,
 * machine-id, regenerated keys). Resolves false when the guest has no such hook or no agent.
 */
export const CLONE_HOOK = '/usr/local/sbin/floe-clone-identity';
export function runCloneHook(socketPath: string, desktopId: string, timeoutMs = 3000): Promise<boolean> {
  return askGuestAgent(socketPath, { execute: 'guest-exec', arguments: { path: CLONE_HOOK, arg: [desktopId] } }, timeoutMs);
}

/** Sends one command; true when the agent answered it with `return` within `timeoutMs`. */
async function askGuestAgent(socketPath: string, command: object | string, timeoutMs: number): Promise<boolean> {
  return (await callGuestAgent(socketPath, command, timeoutMs)) !== undefined;
}

/** Sends one command; resolves with its `return` value, or undefined without an answer in `timeoutMs`. */
function callGuestAgent(socketPath: string, command: object | string, timeoutMs: number): Promise<{ value: unknown } | undefined> {
  const line = typeof command === 'string' ? command : JSON.stringify(command);
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    let received = '';
    const finish = (answer: { value: unknown } | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('connect', () => socket.write(`${line}\n`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      for (const line of received.split('\n').slice(0, -1)) {
        try {
          const message = JSON.parse(line) as { return?: unknown };
          if ('return' in message) return finish({ value: message.return });
          // An error answer (e.g. guest-exec of a program the guest does not have) ends the wait.
          if ('error' in message) return finish(undefined);
        } catch {
          // Not JSON (a partial or stray line): keep reading.
        }
      }
    });
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(undefined));
  });
}

/**
 * Runs a program in the guest through the agent's guest-exec (as root) and waits for it to end:
 * its exit code and its output (stdout and stderr as text). For tests and diagnostics.
 */
export async function guestExec(
  socketPath: string,
  program: string,
  args: string[],
  { timeoutMs = 30_000, env }: { timeoutMs?: number; env?: string[] } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const started = await callGuestAgent(
    socketPath,
    { execute: 'guest-exec', arguments: { path: program, arg: args, 'capture-output': true, ...(env ? { env } : {}) } },
    5000,
  );
  const pid = (started?.value as { pid?: number } | undefined)?.pid;
  if (pid === undefined) throw new Error(`the guest agent did not run ${program}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await callGuestAgent(socketPath, { execute: 'guest-exec-status', arguments: { pid } }, 5000))?.value as
      | { exited?: boolean; exitcode?: number; 'out-data'?: string; 'err-data'?: string }
      | undefined;
    if (status?.exited) {
      const text = (data?: string) => (data ? Buffer.from(data, 'base64').toString('utf8') : '');
      return { exitCode: status.exitcode ?? -1, stdout: text(status['out-data']), stderr: text(status['err-data']) };
    }
    if (Date.now() > deadline) throw new Error(`${program} did not end in the guest within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
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
