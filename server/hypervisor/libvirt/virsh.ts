/**
 * Runs Debian's `virsh` (libvirt-clients) against one libvirt URI and sorts its failures into
 * the two kinds the driver must tell apart: the host could not be asked (no connection, a
 * timeout: `HostUnreachableError`, which proves nothing about its domains) and libvirt
 * answered with an error (`VirshError`, e.g. "Domain not found", which is proof).
 *
 * Why virsh and not a Node binding: the `libvirt` npm package (NAN) does not build on Node 20,
 * and `@unraid/libvirt` has no update-device (needed for SPICE password rotation); virsh covers
 * every call, is versioned with the daemon, and needs nothing compiled into Floe. A process per
 * call costs about 20-40 ms here, which the driver keeps off hot paths (one `list` per host per
 * poll, not one call per desktop).
 */
import { execFile } from 'node:child_process';

/** Default time one virsh call may take before the host counts as not answering. */
export const VIRSH_TIMEOUT_MS = 4000;

/** libvirt could not be reached (or did not answer in time): nothing is known about its domains. */
export class HostUnreachableError extends Error {
  constructor(
    readonly uri: string,
    detail: string,
  ) {
    super(`libvirt at ${uri} does not answer: ${detail}`);
    this.name = 'HostUnreachableError';
  }
}

/** libvirt answered with an error (its own words in the message). */
export class VirshError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
  ) {
    super(`virsh ${args[0] ?? ''}: ${stderr.trim().replace(/^error: /gm, '').replace(/\n+/g, '; ')}`);
    this.name = 'VirshError';
  }
}

/** Errors by which libvirt says it cannot be reached rather than "no" (from virsh's stderr). */
const UNREACHABLE = /failed to connect|cannot recv data|cannot send data|end of file while reading|connection reset|broken pipe|no route to host|connection refused|unable to connect|keepalive|timed out|Cannot write data|no connection driver/i;

export function isNoSuchDomain(error: unknown): boolean {
  return error instanceof VirshError && /domain not found|no domain with matching|failed to get domain/i.test(error.stderr);
}

export function isNoSuchVolume(error: unknown): boolean {
  return error instanceof VirshError && /storage volume not found|no storage vol with matching|failed to get vol/i.test(error.stderr);
}

/** One libvirt URI driven through virsh. */
export class Virsh {
  constructor(
    readonly uri: string,
    private readonly timeoutMs = VIRSH_TIMEOUT_MS,
  ) {}

  /** Runs `virsh -c URI ...args` and returns its stdout; `input` goes to stdin. */
  run(args: string[], options: { timeoutMs?: number; encoding?: 'utf8' | 'buffer' } = {}): Promise<string> {
    return this.runRaw(args, options).then((out) => out.toString('utf8'));
  }

  runRaw(args: string[], options: { timeoutMs?: number } = {}): Promise<Buffer> {
    const timeout = options.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      execFile(
        'virsh',
        ['--quiet', '-c', this.uri, ...args],
        { timeout, killSignal: 'SIGKILL', encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const text = stderr.toString('utf8');
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            return reject(new Error('virsh is not installed (Debian package libvirt-clients)'));
          }
          if (error.killed || error.signal === 'SIGKILL') {
            return reject(new HostUnreachableError(this.uri, `virsh ${args[0]} took longer than ${timeout} ms`));
          }
          if (UNREACHABLE.test(text)) return reject(new HostUnreachableError(this.uri, text.trim().split('\n').pop() ?? ''));
          reject(new VirshError(args, text || error.message));
        },
      );
    });
  }
}
