/**
 * The bytes the benchmark's stand-in desktop streams and its clients check: an endless repetition
 * of one pseudo-random block (AES-CTR of zeros under a fixed key, the same in every process). The
 * block's length is prime-ish and odd, so chunk and frame boundaries fall everywhere in it. A
 * `PatternCheck` compares every received byte against the block (memcmp, no copies) and
 * remembers the first offset that differs.
 */
import { createCipheriv } from 'node:crypto';

const BLOCK_BYTES = 1024 * 1024 + 7;

let block: Buffer | undefined;

export function patternBlock(): Buffer {
  block ??= createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5a), Buffer.alloc(16)).update(Buffer.alloc(BLOCK_BYTES));
  return block;
}

export class PatternCheck {
  private readonly block = patternBlock();
  /** Bytes checked so far. */
  received = 0;
  /** Offset in the stream of the first byte that differed, or -1. */
  firstMismatch = -1;

  /** Checks `bytes[start, end)`, the next bytes of the stream. */
  take(bytes: Buffer, start: number, end: number): void {
    const block = this.block;
    while (start < end) {
      const at = this.received % block.length;
      const n = Math.min(end - start, block.length - at);
      if (this.firstMismatch === -1 && bytes.compare(block, at, at + n, start, start + n) !== 0) {
        let i = 0;
        while (bytes[start + i] === block[at + i]) i++;
        this.firstMismatch = this.received + i;
      }
      this.received += n;
      start += n;
    }
  }
}
