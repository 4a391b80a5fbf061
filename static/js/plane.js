/** A template-plane panel: penultimate activations projected onto the plane of the three templates.

Points are coloured by true class; × marks a prediction that differs from the true class; a ring marks
a flipped (noisy) training label. Motion uses Plotly.animate with redraw: false (DESIGN.md: the fastest
Plotly path at 2 × 300 points); the axes keep their range, grow promptly and shrink slowly.
*/

import { CLASS_COLORS, CONFIG, FONT } from "./plots.js";

const MARGIN = 1.12; // the view leaves this much room around the outermost point
const GROW_TO = 1.3; // a view that grows aims this far past what is needed, so growth comes in rare steps
const SHRINK_TO = 1.15; // a view that shrinks keeps this much room
const SHRINK_BELOW = 0.65; // the view shrinks once everything has fit in this share of it ...
const SHRINK_AFTER_MS = 1_500; // ... for this long
const GROW_MS = 300; // rescaling is a Plotly transition of axes and points together: smooth, never a jump
const SHRINK_MS = 900;
const SUBSCRIPT = ["₀", "₁", "₂"];
const NOOP = () => {};

/** Indices of the flipped points: fixed for the display subsample of one run. */
function flippedIndices(flipped) {
  const flips = [];
  for (let i = 0; i < flipped.length; i++) if (flipped[i]) flips.push(i);
  return flips;
}

/** Where a template's label goes: away from the centre of the triangle (the origin of the plane). */
function outward(x, y) {
  if (Math.abs(y) >= Math.abs(x)) return y >= 0 ? "top center" : "bottom center";
  return x >= 0 ? "middle right" : "middle left";
}

function sameBytes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class TemplatePlane {
  /** el: the graph div; runName: "baseline" or "smoothed". */
  constructor(el, runName) {
    this.el = el;
    this.runName = runName;
    this.radius = null;
    this.smallSince = null;
    this.key = null;
    this.flips = [];
    this.busy = false;
    this.waiting = null;
  }

  /** Half-width the view needs to show every point and template of this frame. */
  need(frame) {
    const run = frame.runs[this.runName];
    let m = 0;
    for (const arr of [run.points, run.templates]) {
      for (let i = 0; i < arr.length; i++) {
        const v = Math.abs(arr[i]);
        if (v > m && Number.isFinite(v)) m = v;
      }
    }
    return Math.max(m * MARGIN, 1e-3);
  }

  /** The view's half-width for a frame that needs `need`: held, grown at once, or shrunk after a while. */
  ease(need, now = performance.now()) {
    if (this.radius === null || need > this.radius) {
      this.radius = this.radius === null ? need * 1.1 : need * GROW_TO;
      this.smallSince = null;
    } else if (need < SHRINK_BELOW * this.radius) {
      this.smallSince = this.smallSince ?? now;
      if (now - this.smallSince > SHRINK_AFTER_MS) {
        this.radius = need * SHRINK_TO;
        this.smallSince = null;
      }
    } else {
      this.smallSince = null;
    }
    return this.radius;
  }

  /** x and y ranges for half-width r, stretched so one unit is as long on both axes. */
  ranges(r) {
    const size = this.el._fullLayout && this.el._fullLayout._size;
    const aspect = size && size.h > 0 ? size.w / size.h : 1.4;
    const rx = aspect >= 1 ? r * aspect : r;
    const ry = aspect >= 1 ? r : r / aspect;
    return { x: [-rx, rx], y: [-ry, ry] };
  }

  /** Trace updates for this frame, in trace order: points, flipped rings, templates joined by the triangle. */
  traces(frame) {
    const { points, templates, pred } = frame.runs[this.runName];
    const truth = frame.trueLabels;
    const n = truth.length;
    const x = new Array(n);
    const y = new Array(n);
    const symbol = new Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = points[2 * i];
      y[i] = points[2 * i + 1];
      symbol[i] = pred[i] === truth[i] ? "circle" : "x";
    }
    const flips = this.flips;
    const tx = [templates[0], templates[2], templates[4], templates[0]];
    const ty = [templates[1], templates[3], templates[5], templates[1]];
    return [
      { x, y, marker: { symbol } },
      { x: flips.map((i) => points[2 * i]), y: flips.map((i) => points[2 * i + 1]) },
      { x: tx, y: ty, textposition: tx.map((u, k) => outward(u, ty[k])) },
    ];
  }

  /** Build every trace from scratch (first frame, or a new display subsample after a reset). */
  build(frame, radius) {
    this.flips = flippedIndices(frame.flipped);
    const upd = this.traces(frame);
    const data = [
      { ...upd[0], type: "scatter", mode: "markers", name: "training points (colour: true class)", hoverinfo: "skip",
        marker: { ...upd[0].marker, color: Array.from(frame.trueLabels, (c) => CLASS_COLORS[c]), size: 7, opacity: 0.8, line: { width: 0 } } },
      { ...upd[1], type: "scatter", mode: "markers", name: "flipped label (ring: label given)", hoverinfo: "skip",
        marker: { symbol: "circle-open", size: 14, color: this.flips.map((i) => CLASS_COLORS[frame.labels[i]]), line: { width: 2 } } },
      { ...upd[2], type: "scatter", mode: "lines+markers+text", name: "templates", hoverinfo: "skip",
        line: { color: "#9aa1ab", width: 1.5 }, cliponaxis: false,
        text: [0, 1, 2].map((k) => `w${SUBSCRIPT[k]}`).concat([""]),
        textfont: { size: 17, color: "#24292f" },
        marker: { symbol: "diamond", size: [20, 20, 20, 0], color: [...CLASS_COLORS, CLASS_COLORS[0]], line: { color: "#ffffff", width: 2 } } },
    ];
    const r = this.ranges(radius);
    const axis = { zeroline: false, gridcolor: "#eef0f3", fixedrange: true, ticks: "", tickfont: { size: 11, color: "#8b949e" }, showline: false };
    const layout = {
      font: FONT, showlegend: false, hovermode: false, dragmode: false,
      margin: { l: 34, r: 10, t: 10, b: 26 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#ffffff",
      xaxis: { ...axis, range: r.x }, yaxis: { ...axis, range: r.y },
    };
    const done = window.Plotly.react(this.el, data, layout, CONFIG);
    if (done && done.catch) done.catch(NOOP);
  }

  /** Draw a frame: a fresh build when the display subsample changed, else an animation step.

  A step that changes the axis ranges is a short transition; frames that arrive meanwhile wait, and
  the newest of them is drawn when it ends (a newer animate call would interrupt it and undo the range).
  */
  draw(frame, radius) {
    const key = [frame.trueLabels, frame.flipped, frame.labels];
    if (!this.key || !key.every((arr, i) => sameBytes(arr, this.key[i]))) {
      this.key = key.map((arr) => Uint8Array.from(arr));
      this.waiting = null;
      this.build(frame, radius);
      this.el.dataset.step = String(frame.step);
      return;
    }
    if (this.busy) {
      this.waiting = [frame, radius];
      return;
    }
    const r = this.ranges(radius);
    const update = { data: this.traces(frame), traces: [0, 1, 2] };
    const current = this.el._fullLayout.xaxis.range;
    const rescale = Math.abs(current[1] - r.x[1]) > 0.005 * Math.abs(r.x[1]);
    let duration = 0;
    if (rescale) {
      update.layout = { xaxis: { range: r.x }, yaxis: { range: r.y } };
      duration = r.x[1] > current[1] ? GROW_MS : SHRINK_MS;
      this.busy = true;
    }
    this.el.dataset.step = String(frame.step); // the step shown (tests read it)
    const done = window.Plotly.animate(this.el, update, {
      transition: { duration, easing: "cubic-in-out" },
      frame: { duration, redraw: false },
      mode: "immediate",
    });
    if (!rescale) {
      if (done && done.catch) done.catch(NOOP);
      return;
    }
    const release = () => {
      clearTimeout(guard);
      if (!this.busy) return;
      this.busy = false;
      const next = this.waiting;
      this.waiting = null;
      if (next) this.draw(...next);
    };
    const guard = setTimeout(release, duration + 500);
    Promise.resolve(done).then(release, release);
  }

  /** Forget the current display subsample (after a reset the next frame rebuilds). */
  clear() {
    this.key = null;
    this.radius = null;
    this.waiting = null;
  }
}
