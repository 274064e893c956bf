/**
 * Tests of waitForSteadyScreen (template-snapshot.ts) with a fake screen dump writing small PPM
 * pictures: it waits while the screen changes or is blank (one colour), returns once the same
 * painted picture came three times in a row, gives up (not steady) at its time limit, and leaves
 * no dump file behind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isBlankScreen, waitForSteadyScreen } from './template-snapshot';

const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'floe-steady-')), 'screen.ppm');

/** A 4x2 PPM: one colour when `pixels` has one entry, else those colours in turn. */
function ppm(...pixels: [number, number, number][]): Buffer {
  const body = Buffer.alloc(4 * 2 * 3);
  for (let i = 0; i < 8; i++) body.set(pixels[i % pixels.length]!, i * 3);
  return Buffer.concat([Buffer.from('P6\n4 2\n255\n', 'latin1'), body]);
}
const PICTURES = {
  black: ppm([0, 0, 0]),
  grey: ppm([90, 90, 90]),
  panel: ppm([200, 200, 200], [30, 60, 90]),
  desktop: ppm([30, 60, 90], [200, 200, 200], [10, 10, 10]),
  other: ppm([1, 2, 3], [4, 5, 6]),
};

/** A dump that writes the given pictures one after another, then the last one forever. */
function dumps(names: (keyof typeof PICTURES)[]): (to: string) => Promise<void> {
  let i = 0;
  return async (to) => fs.promises.writeFile(to, PICTURES[names[Math.min(i++, names.length - 1)]!]);
}

describe('waitForSteadyScreen', () => {
  it('waits while the screen changes and returns after three equal dumps', async () => {
    const result = await waitForSteadyScreen(dumps(['black', 'panel', 'panel', 'desktop', 'desktop', 'desktop', 'other']), file, { intervalMs: 1 });
    assert.equal(result.steady, true);
    assert.equal(result.dumps, 6);
    assert.equal(fs.existsSync(file), false);
  });

  it('a blank screen (one colour) never holds still: it waits for the first painted picture', async () => {
    const result = await waitForSteadyScreen(dumps(['black', 'black', 'black', 'black', 'grey', 'grey', 'grey', 'panel', 'panel', 'panel']), file, { intervalMs: 1 });
    assert.deepEqual([result.steady, result.blank, result.dumps], [true, false, 10]);
    const blank = await waitForSteadyScreen(dumps(['black']), file, { intervalMs: 5, timeoutMs: 50 });
    assert.deepEqual([blank.steady, blank.blank], [false, true], 'still black at the time limit: not steady');
    assert.equal(isBlankScreen(PICTURES.black), true);
    assert.equal(isBlankScreen(PICTURES.panel), false);
    assert.equal(isBlankScreen(Buffer.from('not a picture')), false);
  });

  it('gives up, not steady, when the screen keeps changing', async () => {
    let n = 0;
    const result = await waitForSteadyScreen(async (to) => fs.promises.writeFile(to, ppm([n++ % 256, 0, 0], [0, 0, 0])), file, { intervalMs: 5, timeoutMs: 50 });
    assert.equal(result.steady, false);
    assert.ok(result.dumps > 3);
    assert.equal(fs.existsSync(file), false);
  });
});
