/**
 * spice-html5's display channel drawing a JPEG image (patched). spice-server sends JPEG for
 * photo-like areas when `jpeg-wan-compression` allows it. Unpatched, the image's onload
 * handler looked up `this.streams[id]` on a display channel that had never had a video stream,
 * threw a TypeError and drew nothing. The test feeds the channel a real DrawCopy message with a
 * JPEG image, lets the (stub) image load and checks that it lands on the surface's canvas.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installBrowserStubs } from './spice-stubs';

installBrowserStubs();

/** Stands in for HTMLImageElement: remembers its data URL; the test fires onload itself. */
class FakeImage {
  static created: FakeImage[] = [];
  onload: (() => void) | undefined;
  src = '';
  constructor() {
    FakeImage.created.push(this);
  }
}
(globalThis as Record<string, unknown>).Image = FakeImage;

const { Constants } = await import('@spice-project/spice-html5/src/enums.js');
const { SpiceDisplayConn } = await import('@spice-project/spice-html5/src/display.js');

/** A SPICE_MSG_DISPLAY_DRAW_COPY of a JPEG image into `box` of surface 0 (little-endian wire format). */
function drawCopyOfJpeg(box: { left: number; top: number; right: number; bottom: number }, jpeg: Uint8Array): ArrayBuffer {
  const imageAt = 21 + 36;
  const buffer = new ArrayBuffer(imageAt + 18 + 4 + jpeg.length);
  const dv = new DataView(buffer);
  let at = 0;
  const u8 = (v: number) => void dv.setUint8(at++, v);
  const u16 = (v: number) => void ((dv.setUint16(at, v, true), (at += 2)));
  const u32 = (v: number) => void ((dv.setUint32(at, v, true), (at += 4)));
  const rect = (r: typeof box) => [r.top, r.left, r.bottom, r.right].forEach(u32);
  // SpiceMsgDisplayBase: surface id, box, clip (none).
  u32(0);
  rect(box);
  u8(Constants.SPICE_CLIP_TYPE_NONE!);
  // SpiceCopy: image offset, source area, rop, scale mode, mask (flags, position, no bitmap).
  u32(imageAt);
  rect({ left: 0, top: 0, right: box.right - box.left, bottom: box.bottom - box.top });
  u16(Constants.SPICE_ROPD_OP_PUT!);
  u8(0);
  u8(0);
  u32(0);
  u32(0);
  u32(0);
  assert.equal(at, imageAt);
  // SpiceImage: descriptor (id, type JPEG, flags, width, height), then the JPEG data.
  dv.setBigUint64(at, 7n, true);
  at += 8;
  u8(Constants.SPICE_IMAGE_TYPE_JPEG!);
  u8(0);
  u32(box.right - box.left);
  u32(box.bottom - box.top);
  u32(jpeg.length);
  new Uint8Array(buffer, at).set(jpeg);
  return buffer;
}

test('a JPEG image of a DrawCopy is drawn on its surface', () => {
  const parent = { screen_id: 'screen', password: 'secret' };
  const display = new SpiceDisplayConn({ uri: 'ws://floe.test/console/ws', parent, type: Constants.SPICE_CHANNEL_DISPLAY!, chan_id: 0 });
  const draws: unknown[][] = [];
  const context = { drawImage: (...args: unknown[]) => draws.push(args) };
  display.surfaces = { 0: { surface_id: 0, canvas: { context }, draw_count: 0, format: Constants.SPICE_SURFACE_FMT_32_xRGB } };
  display.primary_surface = 0;

  const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xff, 0xd9]);
  const handled = display.process_channel_message({
    type: Constants.SPICE_MSG_DISPLAY_DRAW_COPY!,
    data: drawCopyOfJpeg({ left: 16, top: 32, right: 48, bottom: 40 }, jpeg),
  });
  assert.equal(handled, true);
  const image = FakeImage.created.at(-1);
  assert.ok(image?.onload, 'the JPEG is handed to an image element');
  assert.equal(image.src, 'data:image/jpeg,%ff%d8%ff%e0%00%10%ff%d9');

  image.onload.call(image);
  assert.deepEqual(draws, [[image, 16, 32]], 'the decoded image is drawn at the box of the DrawCopy');
  display.cleanup();
});

test('a JPEG that finishes loading after the connection stopped is dropped quietly', () => {
  const parent = { screen_id: 'screen', password: 'secret' };
  const display = new SpiceDisplayConn({ uri: 'ws://floe.test/console/ws', parent, type: Constants.SPICE_CHANNEL_DISPLAY!, chan_id: 0 });
  const context = { drawImage: () => assert.fail('nothing is drawn after stop') };
  display.surfaces = { 0: { surface_id: 0, canvas: { context }, draw_count: 0, format: Constants.SPICE_SURFACE_FMT_32_xRGB } };
  display.process_channel_message({
    type: Constants.SPICE_MSG_DISPLAY_DRAW_COPY!,
    data: drawCopyOfJpeg({ left: 0, top: 0, right: 8, bottom: 8 }, Uint8Array.from([0xff, 0xd8, 0xff, 0xd9])),
  });
  const image = FakeImage.created.at(-1)!;
  display.cleanup();
  display.surfaces = undefined; // what stop() leaves behind
  assert.doesNotThrow(() => image.onload!.call(image));
});
