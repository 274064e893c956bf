/**
 * Where the one running backend is found. Next.js bundles the app's modules apart from the
 * custom server's, so `lib/` cannot import the server's instances; the server publishes the
 * runtime on `globalThis` and `lib/` reads it here. This file imports types only, so pulling it
 * into Next's bundle pulls in nothing of the backend.
 */
import type { FloeRuntime } from './runtime';

const RUNTIME_KEY = Symbol.for('floe.runtime');
type RuntimeSlot = Record<symbol, FloeRuntime | undefined>;

/** The runtime the custom server published; throws if Floe's server did not start it. */
export function getRuntime(): FloeRuntime {
  const runtime = (globalThis as RuntimeSlot)[RUNTIME_KEY];
  if (!runtime) throw new Error('Floe runtime is not started (run Floe through server/main.ts).');
  return runtime;
}

export function publishRuntime(runtime: FloeRuntime | undefined): void {
  (globalThis as RuntimeSlot)[RUNTIME_KEY] = runtime;
}
