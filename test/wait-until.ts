/**
 * The one "poll until it holds" helper of the tests and benchmarks, for states reached in the
 * background (a record written, a socket closed, a VM booted, a lease handed over): it calls a
 * probe again and again, a pause apart, until the probe gives something truthy, and returns that
 * value with the milliseconds it took; past the timeout it fails with
 * `timed out after N ms waiting for WHAT`. A probe that throws fails the wait at once, unless
 * the caller says its errors mean "not yet" (then the last one is the timeout's cause).
 */

export interface WaitOptions {
  /** How long to keep probing, in milliseconds. */
  timeoutMs: number;
  /** The pause between two probes, in milliseconds (50 when not given). */
  intervalMs?: number;
  /** A probe that throws or rejects counts as "not yet" instead of failing the wait. */
  ignoreErrors?: boolean;
}

type Pending = undefined | null | false;

/**
 * Probes until `probe` gives a truthy value; `what` names what is awaited in the timeout's
 * message (a function is asked only then, for a message that shows the state at that moment).
 */
export async function waitUntil<T>(
  what: string | (() => string),
  probe: () => T | Pending | Promise<T | Pending>,
  options: WaitOptions,
): Promise<{ value: T; ms: number }> {
  const { timeoutMs, intervalMs = 50, ignoreErrors = false } = options;
  const started = Date.now();
  let lastError: unknown;
  for (;;) {
    let value: T | Pending;
    try {
      value = await probe();
    } catch (error) {
      if (!ignoreErrors) throw error;
      lastError = error;
      value = undefined;
    }
    const ms = Date.now() - started;
    if (value) return { value, ms };
    if (ms >= timeoutMs) {
      const awaited = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${awaited}`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, timeoutMs - ms)));
  }
}
