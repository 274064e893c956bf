/**
 * Touch on the console's screen, turned into the mouse events spice-html5 already sends to the
 * desktop: tap = click; drag = move with the left button held; two-finger tap = right click;
 * two-finger drag = scroll wheel (a notch per 30 px). The left button goes down only once a touch
 * is known not to be the start of a two-finger gesture (it moved, or it ended), so a two-finger
 * tap never clicks left first. The events are dispatched on the canvas itself, so positions come
 * out in the canvas's own pixels however the screen is scaled (the CSS transform), as with a mouse.
 * Touches are taken with preventDefault: the page neither scrolls, zooms nor synthesises mouse
 * events of its own.
 */

const DRAG_THRESHOLD_PX = 8;
const WHEEL_STEP_PX = 30;
const TAP_MS = 600;

type Point = { x: number; y: number };

function centre(touches: TouchList): Point {
  let x = 0;
  let y = 0;
  for (const t of Array.from(touches)) {
    x += t.clientX;
    y += t.clientY;
  }
  return { x: x / touches.length, y: y / touches.length };
}

/** Starts turning touches on `canvas` into mouse events; returns the function that stops it. */
export function attachTouchInput(canvas: HTMLCanvasElement): () => void {
  let mode: 'none' | 'pending' | 'dragging' | 'two' = 'none';
  let start: Point = { x: 0, y: 0 };
  let last: Point = { x: 0, y: 0 };
  let startedAt = 0;
  let scrolled = 0;
  let wheelRest = 0;

  const mouse = (type: 'mousemove' | 'mousedown' | 'mouseup', at: Point, button = 0) =>
    canvas.dispatchEvent(
      new MouseEvent(type, { clientX: at.x, clientY: at.y, button, buttons: type === 'mouseup' ? 0 : type === 'mousedown' ? 1 << button : mode === 'dragging' ? 1 : 0, bubbles: true, cancelable: true }),
    );
  const wheel = (at: Point, deltaY: number) =>
    canvas.dispatchEvent(new WheelEvent('wheel', { clientX: at.x, clientY: at.y, deltaY, deltaMode: 0, bubbles: true, cancelable: true }));

  const onStart = (event: TouchEvent) => {
    event.preventDefault();
    canvas.focus({ preventScroll: true });
    if (event.touches.length === 1) {
      mode = 'pending';
      start = last = centre(event.touches);
      startedAt = performance.now();
      mouse('mousemove', start);
    } else if (event.touches.length === 2 && mode !== 'dragging') {
      mode = 'two';
      start = last = centre(event.touches);
      scrolled = 0;
      wheelRest = 0;
    }
  };

  const onMove = (event: TouchEvent) => {
    event.preventDefault();
    const at = centre(event.touches);
    if (mode === 'pending' && Math.hypot(at.x - start.x, at.y - start.y) > DRAG_THRESHOLD_PX) {
      mode = 'dragging';
      mouse('mousedown', start);
    }
    if (mode === 'dragging') mouse('mousemove', at);
    else if (mode === 'two' && event.touches.length === 2) {
      // Fingers moving up scroll the content down, as on a touch pad.
      wheelRest += last.y - at.y;
      while (Math.abs(wheelRest) >= WHEEL_STEP_PX) {
        const step = Math.sign(wheelRest) * WHEEL_STEP_PX;
        wheel(at, step);
        wheelRest -= step;
        scrolled++;
      }
    }
    last = at;
  };

  const onEnd = (event: TouchEvent) => {
    event.preventDefault();
    if (event.touches.length > 0) return;
    if (mode === 'pending') {
      mouse('mousedown', start);
      mouse('mouseup', start);
    } else if (mode === 'dragging') mouse('mouseup', last);
    else if (mode === 'two' && scrolled === 0 && performance.now() - startedAt < TAP_MS * 2) {
      mouse('mousemove', start);
      mouse('mousedown', start, 2);
      mouse('mouseup', start, 2);
    }
    mode = 'none';
  };

  const options = { passive: false } as const;
  canvas.addEventListener('touchstart', onStart, options);
  canvas.addEventListener('touchmove', onMove, options);
  canvas.addEventListener('touchend', onEnd, options);
  canvas.addEventListener('touchcancel', onEnd, options);
  canvas.style.touchAction = 'none';
  return () => {
    canvas.removeEventListener('touchstart', onStart);
    canvas.removeEventListener('touchmove', onMove);
    canvas.removeEventListener('touchend', onEnd);
    canvas.removeEventListener('touchcancel', onEnd);
  };
}
