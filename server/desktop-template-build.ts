/**
 * The demo's graphical template, built in the background: `npm run demo` serves the busybox
 * pools at once while `guest/build-desktop.sh` runs (about 4 minutes the first time here; a
 * second run with the same recipe returns at once), and the Desktop pool is added when the
 * image is there. Progress is read from the script's "step N/M: what" lines and kept for
 * whoever asks (`progress()`): until then the pool is listed as being prepared (a
 * `PreparingPool`) on My desktops and the admin pool page. The script's output also goes to the
 * log. Floe stopping leaves the build running to its end (stopping mmdebstrap part-way can
 * leave the chroot's mounts behind); a later start waits for it on the build's lock.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Logger } from 'pino';

export interface TemplateBuildProgress {
  state: 'building' | 'ready' | 'failed';
  step: number;
  steps: number;
  /** What the build does now, in the script's words ("mmdebstrap: 33 packages ..."). */
  doing: string;
  /** Why it failed (the script's last error line). */
  reason?: string;
}

/** A pool whose template is still being made: shown with its progress until the pool exists. */
export interface PreparingPool {
  name: string;
  title: string;
  progress(): TemplateBuildProgress;
}

const STEP_LINE = /step (\d+)\/(\d+): (.*)$/;

/** Parses one output line of guest/build-desktop.sh; undefined when it is not a step line. */
export function parseStepLine(line: string): { step: number; steps: number; doing: string } | undefined {
  const match = STEP_LINE.exec(line);
  if (!match) return undefined;
  return { step: Number(match[1]), steps: Number(match[2]), doing: match[3]!.trim() };
}

export class DesktopTemplateBuild {
  private current: TemplateBuildProgress = { state: 'building', step: 0, steps: 1, doing: 'starting' };
  readonly done: Promise<void>;

  /**
   * Starts `bash SCRIPT IMAGE_DIR` from `repoRoot`; `done` resolves when it succeeded. SCRIPT is
   * guest/build-desktop.sh unless `script` names another with the same output (tests).
   */
  constructor(options: { repoRoot: string; imageDir: string; log: Logger; script?: string }) {
    const script = options.script ?? path.join(options.repoRoot, 'guest', 'build-desktop.sh');
    const child = spawn('bash', [script, options.imageDir], {
      cwd: options.repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastError = '';
    const onLines = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        const step = parseStepLine(line);
        if (step) this.current = { state: 'building', ...step };
        if (/error/i.test(line)) lastError = line.trim();
        options.log.info({ line }, 'desktop template build');
      }
    };
    child.stdout.on('data', onLines);
    child.stderr.on('data', onLines);
    this.done = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        if (code === 0) {
          this.current = { ...this.current, state: 'ready', step: this.current.steps, doing: 'done' };
          resolve();
        } else {
          this.current = { ...this.current, state: 'failed', reason: lastError || `exit code ${code}` };
          reject(new Error(`guest/build-desktop.sh failed: ${this.current.reason}`));
        }
      });
    });
  }

  progress(): TemplateBuildProgress {
    return { ...this.current };
  }
}
