/**
 * Tests of waitForSteadyScreen (template-snapshot.ts) with a fake screen dump: it waits while
 * the screen changes, returns once the same picture came three times in a row, gives up (not
 * steady) at its time limit, and leaves no dump file behind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForSteadyScreen } from './template-snapshot';

const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'floe-steady-')), 'screen.ppm');

/** A dump that writes the given pictures one after another, then the last one forever. */
function dumps(pictures: string[]): (to: string) => Promise<void> {
  let i = 0;
  return async (to) => fs.promises.writeFile(to, pictures[Math.min(i++, pictures.length - 1)]!);
}

describe('waitForSteadyScreen', () => {
  it('waits while the screen changes and returns after three equal dumps', async () => {
    const result = await waitForSteadyScreen(dumps(['black', 'panel', 'panel', 'desktop', 'desktop', 'desktop', 'other']), file, { intervalMs: 1 });
    assert.equal(result.steady, true);
    assert.equal(result.dumps, 6);
    assert.equal(fs.existsSync(file), false);
  });

  it('gives up, not steady, when the screen keeps changing', async () => {
    let n = 0;
    const result = await waitForSteadyScreen(async (to) => fs.promises.writeFile(to, String(n++)), file, { intervalMs: 5, timeoutMs: 50 });
    assert.equal(result.steady, false);
    assert.ok(result.dumps > 3);
    assert.equal(fs.existsSync(file), false);
  });
});
