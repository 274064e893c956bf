/**
 * The accelerator verdict is remembered per host: a remembered answer is used at once and
 * checked again in the background, a changed host (another key) is probed afresh, and a PVM
 * KVM is answered without any probe guest.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { forgetAcceleratorProbe, resolveAccelerator } from './accelerator';
import { hostKey, knownBrokenKvm, readVerdict, writeVerdict } from './accelerator-memory';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-accel-memory-'));
const verdictFile = path.join(folder, 'accelerator.json');
const missingDevice = path.join(folder, 'no-kvm');

describe('accelerator verdict per host', () => {
  beforeEach(() => {
    forgetAcceleratorProbe();
    fs.rmSync(verdictFile, { force: true });
  });
  after(() => {
    forgetAcceleratorProbe();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('knows a PVM KVM without a probe guest', async () => {
    assert.match(knownBrokenKvm(['kvm', 'kvm_pvm']) ?? '', /PVM/);
    assert.equal(knownBrokenKvm(['kvm', 'kvm_intel']), undefined);
    const started = Date.now();
    // /dev/null opens read-write like a working device would; the PVM module decides.
    const decision = await resolveAccelerator('auto', { kernel: '/nonexistent', initrd: '/nonexistent' }, { kvmDevice: '/dev/null', kvmModules: ['kvm', 'kvm_pvm'] });
    assert.deepEqual(decision.accelerator, 'tcg');
    assert.match(decision.reason, /PVM/);
    assert.ok(Date.now() - started < 2000, 'answered at once');
  });

  it('uses a remembered verdict at once and checks again in the background', async () => {
    const key = await hostKey(missingDevice);
    await writeVerdict(verdictFile, { hostKey: key, accelerator: 'kvm', reason: 'the probe guest booted', checkedAt: 1_000 });
    const decision = await resolveAccelerator('auto', undefined, { kvmDevice: missingDevice, verdictFile });
    assert.equal(decision.accelerator, 'kvm', 'the remembered answer, not a new probe');
    assert.match(decision.reason, /remembered from 1970/);
    // The background check finds no device and rewrites the verdict for the next start.
    const deadline = Date.now() + 5000;
    while ((await readVerdict(verdictFile, key))?.accelerator !== 'tcg') {
      assert.ok(Date.now() < deadline, 'the background check rewrote the verdict');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match((await readVerdict(verdictFile, key))?.reason ?? '', /no .*no-kvm/);
  });

  it('probes and remembers when the host has no verdict (or another host wrote it)', async () => {
    await writeVerdict(verdictFile, { hostKey: 'another-host', accelerator: 'kvm', reason: 'elsewhere', checkedAt: 1 });
    const decision = await resolveAccelerator('auto', undefined, { kvmDevice: missingDevice, verdictFile });
    assert.equal(decision.accelerator, 'tcg');
    const remembered = await readVerdict(verdictFile, await hostKey(missingDevice));
    assert.equal(remembered?.accelerator, 'tcg');
  });
});
