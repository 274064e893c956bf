/**
 * Liveness answers alive / dead / unknown, for real: this process is alive, a child that has
 * exited is dead, and with every file handle in use (a real EMFILE) the answer is unknown,
 * never dead. The disk-holder check finds a process that has a file open.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { exhaustFileHandles } from '../../host/file-handles';
import { processLiveness, processesHoldingFile, qemuLiveness } from './process-check';

describe('process-check', () => {
  test('alive, dead (exited, or another program on the pid), unknown (EMFILE)', () => {
    assert.equal(processLiveness(process.pid), 'alive');
    const child = spawnSync('true');
    assert.equal(processLiveness(child.pid!), 'dead');
    assert.equal(qemuLiveness(process.pid, '/nowhere'), 'dead', 'this pid runs node, not a QEMU');
    const release = exhaustFileHandles();
    let during;
    try {
      during = [processLiveness(process.pid), processLiveness(child.pid!), qemuLiveness(process.pid, '/nowhere')];
    } finally {
      release();
    }
    assert.deepEqual(during, ['unknown', 'unknown', 'unknown']);
  });

  test('processesHoldingFile finds the holder, and throws rather than guess under EMFILE', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'floe-holders-')), 'disk');
    fs.writeFileSync(file, '');
    const fd = fs.openSync(file, 'r');
    try {
      assert.deepEqual(processesHoldingFile(file), [process.pid]);
      const release = exhaustFileHandles();
      let error: unknown;
      try {
        processesHoldingFile(file);
      } catch (caught) {
        error = caught;
      } finally {
        release();
      }
      assert.equal((error as NodeJS.ErrnoException | undefined)?.code, 'EMFILE');
    } finally {
      fs.closeSync(fd);
    }
    assert.deepEqual(processesHoldingFile(file), []);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
