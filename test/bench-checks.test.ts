/**
 * The benchmark's own checks can fail: the byte-pattern check that `npm run bench` applies to
 * every relayed byte accepts the stream however it is cut into chunks and flags the first byte
 * that differs, and `check` turns a wrong measurement into a failure of the run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patternBlock, PatternCheck } from '../bench/byte-pattern';
import { BenchCheckError, check } from '../bench/figures';

/** The first `length` bytes of the endless pattern stream. */
function stream(length: number): Buffer {
  const block = patternBlock();
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += block.length) block.copy(out, at, 0, Math.min(block.length, length - at));
  return out;
}

test('the pattern check accepts the stream cut anywhere, across the block boundary', () => {
  const bytes = stream(patternBlock().length * 2 + 12_345);
  const pattern = new PatternCheck();
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size * 7 + 3) % 70_001) {
    pattern.take(bytes, at, Math.min(bytes.length, at + size));
  }
  assert.equal(pattern.received, bytes.length);
  assert.equal(pattern.firstMismatch, -1);
});

test('the pattern check names the first byte that differs', () => {
  const bytes = stream(patternBlock().length + 5000);
  const wrong = patternBlock().length + 17;
  bytes[wrong] = bytes[wrong]! ^ 0xff;
  const pattern = new PatternCheck();
  pattern.take(bytes, 0, 100_000);
  pattern.take(bytes, 100_000, bytes.length);
  assert.equal(pattern.firstMismatch, wrong);
});

test('a failed bench check throws', () => {
  assert.throws(() => check(false, '1 desktops were given to more than one user'), BenchCheckError);
  assert.doesNotThrow(() => check(true, 'fine'));
});
