/**
 * Floe's file handles, for real on this process: the limit is read and set with prlimit, the
 * watch says "low" once handles run out (and /proc/self/fd cannot even be read), and recovers
 * when they are given back; raiseFileLimit never lowers a limit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FileHandleWatch, countOpenFileHandles, exhaustFileHandles, raiseFileLimit, readFileLimit } from './file-handles';

describe('file handles', () => {
  test('the limit and the open count are read from /proc', () => {
    const limit = readFileLimit();
    assert.ok(limit.soft > 0 && limit.hard >= limit.soft);
    const open = countOpenFileHandles();
    assert.ok(open !== undefined && open > 2 && open < limit.soft);
  });

  test('the watch says low while handles are exhausted, and recovers when they are back', () => {
    const watch = new FileHandleWatch({ intervalMs: 60_000, reserve: 8 });
    try {
      assert.equal(watch.refresh().low, false);
      const release = exhaustFileHandles();
      let during;
      try {
        during = watch.refresh();
      } finally {
        release();
      }
      assert.equal(during.low, true);
      assert.equal(during.open, undefined, '/proc/self/fd cannot be read with no handle left');
      assert.equal(watch.refresh().low, false);
    } finally {
      watch.stop();
    }
  });

  test('raiseFileLimit raises or keeps, never lowers', () => {
    const before = readFileLimit();
    const result = raiseFileLimit();
    const after = readFileLimit();
    assert.ok(after.soft >= before.soft && after.hard >= before.hard, result.note);
    assert.deepEqual(result.after, after);
  });
});
