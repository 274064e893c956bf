/**
 * Unit tests of the libvirt driver's pure parts: the hosts file (validated like the pool file,
 * with each bad field named), the placement rule (most free memory among hosts that are up,
 * have the template and have room), and the XML Floe writes and reads back (metadata, SPICE
 * graphics with an expired password, the update-device XML repeating port and listen).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildDomainXml, parseMetadata, parseSpiceGraphics, passwordUpdateXml, passwordValidTo } from './domain-xml';
import { HostFileError, NoHostError, chooseHost, loadHostsFile, parseHost, saveHostsFile } from './hosts';
import { templateVolumes } from './libvirt-hypervisor';

const up = { up: true, hasTemplate: true, desktops: 0 };

describe('placement', () => {
  it('chooses the host with the most free memory', () => {
    assert.equal(
      chooseHost([
        { name: 'a', ...up, freeMemoryBytes: 4e9 },
        { name: 'b', ...up, freeMemoryBytes: 9e9 },
        { name: 'c', ...up, freeMemoryBytes: 6e9 },
      ]),
      'b',
    );
  });

  it('skips hosts that are down, lack the template or are full, even with more memory', () => {
    assert.equal(
      chooseHost([
        { name: 'down', ...up, up: false, freeMemoryBytes: 90e9 },
        { name: 'bare', ...up, hasTemplate: false, freeMemoryBytes: 80e9 },
        { name: 'full', ...up, desktops: 10, maxDesktops: 10, freeMemoryBytes: 70e9 },
        { name: 'ok', ...up, desktops: 3, maxDesktops: 10, freeMemoryBytes: 1e9 },
      ]),
      'ok',
    );
  });

  it('breaks ties by fewest desktops, then name', () => {
    assert.equal(chooseHost([{ name: 'b', ...up, freeMemoryBytes: 5e9 }, { name: 'a', ...up, freeMemoryBytes: 5e9 }]), 'a');
    assert.equal(chooseHost([{ name: 'a', ...up, desktops: 2, freeMemoryBytes: 5e9 }, { name: 'b', ...up, desktops: 1, freeMemoryBytes: 5e9 }]), 'b');
  });

  it('says why no host can take a desktop', () => {
    assert.throws(
      () => chooseHost([{ name: 'x', ...up, up: false, freeMemoryBytes: 1 }, { name: 'y', ...up, hasTemplate: false, freeMemoryBytes: 1 }]),
      (error: unknown) => error instanceof NoHostError && /x is down; y lacks the template/.test(error.message),
    );
    assert.throws(() => chooseHost([]), /no hosts are configured/);
  });
});

describe('hosts file', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-hosts-'));

  it('reads hosts with defaults and writes them back', () => {
    const file = path.join(folder, 'hosts.json');
    fs.writeFileSync(file, JSON.stringify({ hosts: [{ name: 'kvm1', uri: 'qemu+ssh://floe@kvm1/system', spiceListen: '10.0.0.11' }] }));
    const hosts = loadHostsFile(file);
    assert.deepEqual(hosts, [{ name: 'kvm1', uri: 'qemu+ssh://floe@kvm1/system', pool: 'floe', spiceListen: '10.0.0.11', accelerator: 'kvm' }]);
    saveHostsFile(file, [...hosts, parseHost({ name: 'kvm2', uri: 'qemu+tls://kvm2/system', accelerator: 'tcg' })]);
    assert.deepEqual(loadHostsFile(file).map((h) => [h.name, h.accelerator, h.spiceListen]), [['kvm1', 'kvm', '10.0.0.11'], ['kvm2', 'tcg', '127.0.0.1']]);
  });

  it('names each bad field', () => {
    const file = path.join(folder, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ hosts: [{ name: 'Bad Name', uri: 'http://x' }, { name: 'a', uri: 'qemu:///system', color: 1 }] }));
    assert.throws(() => loadHostsFile(file), (error: unknown) => {
      assert.ok(error instanceof HostFileError);
      assert.match(error.message, /hosts\.0\.name: use 1-31 lowercase/);
      assert.match(error.message, /hosts\.0\.uri: a libvirt URI/);
      assert.match(error.message, /hosts\.1: .*color/);
      return true;
    });
    fs.writeFileSync(file, JSON.stringify({ hosts: [{ name: 'a', uri: 'qemu:///system' }, { name: 'a', uri: 'qemu:///system' }] }));
    assert.throws(() => loadHostsFile(file), /"a" is defined twice.*defined twice/);
    fs.writeFileSync(file, '{ not json');
    assert.throws(() => loadHostsFile(file), HostFileError);
  });
});

describe('libvirt XML', () => {
  const template = {
    baseImage: '/images/demo/base.qcow2',
    kernel: '/images/demo/vmlinuz',
    initrd: '/images/demo/initrd.img',
    kernelArgs: 'console=ttyS0 <x>',
    memoryMiB: 256,
    vcpus: 1,
    readiness: { kind: 'serial-marker' as const, marker: 'READY' },
  };

  it('names template volumes by folder and file', () => {
    assert.deepEqual(templateVolumes(template), { baseImage: 'demo-base.qcow2', kernel: 'demo-vmlinuz', initrd: 'demo-initrd.img' });
  });

  it('writes a TCG domain with SPICE locked, the devices of the QEMU driver, and metadata it reads back', () => {
    const xml = buildDomainXml({
      name: 'floe-d1',
      metadata: { owner: 'floe', id: 'd1', startedAt: 1700000000000, serialOffset: 0 },
      template,
      accelerator: 'tcg',
      disk: '/pool/desktop-d1.qcow2',
      serialLog: '/pool/desktop-d1.serial.log',
      kernel: '/pool/demo-vmlinuz',
      initrd: '/pool/demo-initrd.img',
      spiceListen: '127.0.0.1',
      lockedPassword: 'secret',
    });
    assert.match(xml, /<domain type='qemu'>/);
    assert.match(xml, /passwd='secret' passwdValidTo='1970-01-01T00:00:01'/);
    assert.match(xml, /<jpeg compression='never'\/>/);
    assert.match(xml, /<model type='qxl'\/>/);
    assert.match(xml, /com\.redhat\.spice\.0/);
    assert.match(xml, /org\.qemu\.guest_agent\.0/);
    assert.match(xml, /<cmdline>console=ttyS0 &lt;x&gt;<\/cmdline>/);
    assert.deepEqual(parseMetadata(xml), { owner: 'floe', id: 'd1', startedAt: 1700000000000, serialOffset: 0 });
    assert.equal(parseMetadata('<domain><metadata/></domain>'), undefined);
  });

  it('reads the SPICE port of a live domain and repeats port and listen in the password update', () => {
    const live = `<graphics type='spice' port='5901' autoport='yes' listen='127.0.0.1'>`;
    assert.deepEqual(parseSpiceGraphics(live), { port: 5901, listen: '127.0.0.1' });
    assert.equal(parseSpiceGraphics(`<graphics type='spice' autoport='yes'>`), undefined);
    const update = passwordUpdateXml(5901, '127.0.0.1', 'pw', passwordValidTo(30, Date.UTC(2026, 0, 1, 12, 0, 0)));
    assert.match(update, /port='5901' autoport='yes' listen='127\.0\.0\.1' passwd='pw' passwdValidTo='2026-01-01T12:00:30'/);
    assert.match(update, /<listen type='address' address='127\.0\.0\.1'\/>/);
  });
});
