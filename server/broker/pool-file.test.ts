/** The pool file: a good file loads with paths made absolute; a bad one is refused naming the pool and field. Run-time templates are confined to the image folder. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadPoolFile } from './pool-file';
import { confineTemplate } from './pools';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-pools-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

test('a good file loads, with defaults and image paths relative to the file', () => {
  const file = write('good.json', {
    pools: [
      { name: 'office', title: 'Office', kind: 'persistent', template: { baseImage: 'images/office.qcow2' }, onIdle: 'shutdown' },
      { name: 'kiosk', title: 'Kiosk', kind: 'stateless', template: 'demo', spares: 2 },
    ],
  });
  const [office, kiosk] = loadPoolFile(file);
  assert.equal(typeof office?.template === 'object' && office?.template.baseImage, path.join(dir, 'images/office.qcow2'));
  assert.deepEqual(typeof office?.template === 'object' && office?.template.readiness, { kind: 'delay', seconds: 30 });
  assert.equal(office?.maxSize, 10);
  assert.equal(kiosk?.spares, 2);
});

test('bad files are refused with a message naming the field', () => {
  const cases: [unknown, RegExp][] = [
    ['{ not json', /is not valid: .*JSON/],
    [{ pools: [] }, /pools: the file must define at least one pool/],
    [{ pools: [{ name: 'a', title: 'A', kind: 'persistent', template: 'demo', maxSize: 0 }] }, /pools\[0\] \(a\)\.maxSize: Too small/],
    [{ pools: [{ name: 'b', title: 'B', kind: 'sometimes', template: 'demo' }] }, /pools\[0\] \(b\)\.kind/],
    [{ pools: [{ name: 'Bad Name', title: 'X', kind: 'stateless', template: 'demo' }] }, /pools\[0\] \(Bad Name\)\.name: use 1-40 lowercase/],
    [
      {
        pools: [
          { name: 'c', title: 'C', kind: 'stateless', template: 'demo' },
          { name: 'c', title: 'C2', kind: 'stateless', template: 'demo' },
        ],
      },
      /pools\[1\] \(c\)\.name: "c" is defined twice/,
    ],
    [{ pools: [{ name: 'd', title: 'D', kind: 'stateless', template: 'demo' }], extra: 1 }, /Unrecognized key/],
  ];
  for (const [content, message] of cases) {
    assert.throws(() => loadPoolFile(write('bad.json', content)), message);
  }
  assert.throws(() => loadPoolFile(path.join(dir, 'missing.json')), /missing\.json is not valid: ENOENT/);
});

test('templates saved at run time must name files inside the image folder', () => {
  const imageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-images-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-outside-'));
  try {
    fs.writeFileSync(path.join(imageDir, 'office.qcow2'), '');
    fs.writeFileSync(path.join(outside, 'disk.qcow2'), '');
    fs.symlinkSync(path.join(outside, 'disk.qcow2'), path.join(imageDir, 'link.qcow2'));
    const template = (baseImage: string) => ({ baseImage, readiness: { kind: 'delay' as const, seconds: 1 } });
    const confined = confineTemplate(template('office.qcow2'), imageDir);
    assert.equal(typeof confined === 'object' && confined.baseImage, path.join(fs.realpathSync(imageDir), 'office.qcow2'));
    assert.equal(confineTemplate('demo', imageDir), 'demo');
    for (const bad of [path.join(outside, 'disk.qcow2'), '../' + path.basename(outside) + '/disk.qcow2', 'link.qcow2', 'missing.qcow2', '.']) {
      assert.throws(() => confineTemplate(template(bad), imageDir), (error: Error & { status?: number }) => error.status === 400 && /template\.baseImage/.test(error.message), bad);
    }
  } finally {
    fs.rmSync(imageDir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});
