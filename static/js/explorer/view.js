/** What a template-plane panel shows: the half-width of its view (stable: grows at once, shrinks slowly),
the axis ranges for equal aspect, and the map from plane coordinates to the panel's pixels.

A view is {l, t, w, h, x0, x1, y0, y1}: the plot area's left, top, width and height in CSS pixels
(Plotly's xaxis._offset, yaxis._offset, ._length) and its axis ranges. Pure: no DOM (tests/js).
*/

export const MARGIN = 1.12; // the view leaves this much room around the outermost point
const FIRST = 1.1; // the first view of a run: this much past what is needed
const GROW_TO = 1.4; // a view that grows aims this far past what is needed, so growth comes in rare steps
const SHRINK_BELOW = 0.6; // the view starts to shrink once everything has fit in this share of it ...
const SHRINK_AFTER_MS = 1_500; // ... for this long;
const SHRINK_TO = 1.15; // it then shrinks until it keeps this much room,
const SHRINK_STEP = 0.85; // by at most this factor ...
const SHRINK_EVERY_MS = 200; // ... this often (each step is one Plotly relayout of the axes)

/** Half-width needed to show every coordinate in the arrays (absolute values; NaN and ±inf ignored). */
export function needOf(...arrays) {
  let m = 0;
  for (const arr of arrays) {
    if (!arr) continue;
    for (let i = 0; i < arr.length; i++) {
      const v = Math.abs(arr[i]);
      if (v > m && Number.isFinite(v)) m = v;
    }
  }
  return Math.max(m * MARGIN, 1e-3);
}

/** x and y ranges for half-width r in a plot area of aspect w / h: one unit is as long on both axes. */
export function rangesFor(r, aspect) {
  const a = aspect > 0 && Number.isFinite(aspect) ? aspect : 1.4;
  const rx = a >= 1 ? r * a : r;
  const ry = a >= 1 ? r : r / a;
  return { x: [-rx, rx], y: [-ry, ry] };
}

/** True when two ranges differ by more than a hair (0.5 % of their extent). */
export function rangesDiffer(a, b) {
  if (!a || !b) return true;
  const close = (p, q) => Math.abs(p[0] - q[0]) <= 0.005 * Math.abs(q[1] - q[0]) && Math.abs(p[1] - q[1]) <= 0.005 * Math.abs(q[1] - q[0]);
  return !close(a.x, b.x) || !close(a.y, b.y);
}

/** Pixel x of plane coordinate x in a view (CSS pixels from the panel's top-left). */
export function pixelX(view, x) {
  return view.l + ((x - view.x0) * view.w) / (view.x1 - view.x0);
}

/** Pixel y of plane coordinate y (y grows upwards on the plane, downwards on the screen). */
export function pixelY(view, y) {
  return view.t + ((view.y1 - y) * view.h) / (view.y1 - view.y0);
}

/** The view's half-width over time: held while everything fits, grown at once (with room to spare) when
something would leave it, shrunk in small steps once everything has fitted in a small part of it for a while. */
export class ViewRadius {
  constructor() {
    this.reset();
  }

  reset() {
    this.radius = null;
    this.smallSince = null;
    this.shrinking = false;
    this.lastStep = -Infinity;
  }

  /** The half-width for content that needs `need`, at time `now` (ms). */
  ease(need, now) {
    if (this.radius === null || need > this.radius) {
      this.radius = need * (this.radius === null ? FIRST : GROW_TO);
      this.smallSince = null;
      this.shrinking = false;
      return this.radius;
    }
    if (this.shrinking || need < SHRINK_BELOW * this.radius) {
      this.smallSince = this.smallSince ?? now;
      if (now - this.smallSince > SHRINK_AFTER_MS) this.shrinking = true;
      if (this.shrinking && now - this.lastStep >= SHRINK_EVERY_MS) {
        this.lastStep = now;
        this.radius = Math.max(need * SHRINK_TO, this.radius * SHRINK_STEP);
        if (this.radius <= need * SHRINK_TO * 1.0001) {
          this.shrinking = false;
          this.smallSince = null;
        }
      }
    } else {
      this.smallSince = null;
    }
    return this.radius;
  }
}

/** The point nearest to pixel (x, y) in a view (CSS pixels from the panel's top-left), within `maxPx`:
its index, or -1. positions: 2n plane coordinates (more may follow: only the first n points count). */
export function nearestPoint(positions, n, view, x, y, maxPx = 8) {
  let best = -1;
  let bestD = maxPx * maxPx;
  for (let i = 0; i < n; i++) {
    const dx = pixelX(view, positions[2 * i]) - x;
    const dy = pixelY(view, positions[2 * i + 1]) - y;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
