/** A template-plane panel: penultimate activations projected onto the plane of the three templates.

Points are coloured by true class; × marks a prediction that differs from the true class; a ring marks
a flipped (noisy) training label. Every frame moves the points with Plotly.animate (redraw: false, not
awaited: docs/performance.md, the fastest Plotly path at 2 × 300 points), sending only what changed. The axes keep
their range while everything fits, grow at once with room to spare and shrink after a while: a new range
is one full Plotly.react of that frame (an animated axis transition would hold the points still while it
runs, and a newer frame would undo it), so points never wait for the axes.
*/

import { CLASS_COLORS, CONFIG, FONT, REFERENCE_COLOR, quiet } from "../lib/plots.js";

const MARGIN = 1.12; // the view leaves this much room around the outermost point
const GROW_TO = 1.4; // a view that grows aims this far past what is needed, so growth comes in rare steps
const SHRINK_TO = 1.15; // a view that shrinks keeps this much room
const SHRINK_BELOW = 0.6; // the view shrinks once everything has fit in this share of it ...
const SHRINK_AFTER_MS = 1_500; // ... for this long
const SUBSCRIPT = ["₀", "₁", "₂"];
const ANIMATE = { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" };

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

/** Same length and items (typed or plain arrays). */
function sameItems(a, b) {
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
    this.drawn = null; // the half-widths the graph's axes show
    this.symbols = null; // the marker symbols the graph has (sent again only when a prediction changed)
    this.textpos = null;
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

  /** This frame's point positions, marker symbols (× where the prediction is wrong) and template positions. */
  geometry(frame) {
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
    return {
      x, y, symbol,
      fx: flips.map((i) => points[2 * i]), fy: flips.map((i) => points[2 * i + 1]),
      tx, ty, textposition: tx.map((u, k) => outward(u, ty[k])),
    };
  }

  /** Build every trace from scratch (first frame, a new display subsample, or new axis ranges). */
  build(frame, radius) {
    this.flips = flippedIndices(frame.flipped);
    const g = this.geometry(frame);
    const data = [
      { x: g.x, y: g.y, type: "scatter", mode: "markers", name: "training points (colour: true class)", hoverinfo: "skip",
        marker: { symbol: g.symbol, color: Array.from(frame.trueLabels, (c) => CLASS_COLORS[c]), size: 7, opacity: 0.8, line: { width: 0 } } },
      { x: g.fx, y: g.fy, type: "scatter", mode: "markers", name: "flipped label (ring: label given)", hoverinfo: "skip",
        marker: { symbol: "circle-open", size: 14, color: this.flips.map((i) => CLASS_COLORS[frame.labels[i]]), line: { width: 2 } } },
      { x: g.tx, y: g.ty, textposition: g.textposition, type: "scatter", mode: "lines+markers+text", name: "templates", hoverinfo: "skip",
        line: { color: REFERENCE_COLOR, width: 1.5 }, cliponaxis: false,
        text: [0, 1, 2].map((k) => `w${SUBSCRIPT[k]}`).concat([""]),
        textfont: { size: 17, color: "#24292f" },
        marker: { symbol: "diamond", size: [20, 20, 20, 0], color: [...CLASS_COLORS, CLASS_COLORS[0]], line: { color: "#ffffff", width: 2 } } },
    ];
    const r = this.ranges(radius);
    const axis = { zeroline: false, gridcolor: "#eef0f3", fixedrange: true, ticks: "", tickfont: { size: 11, color: "#8b949e" }, showline: false,
      ticklabeloverflow: "allow" };
    const layout = {
      font: FONT, showlegend: false, hovermode: false, dragmode: false,
      margin: { l: 34, r: 10, t: 10, b: 26 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#ffffff",
      xaxis: { ...axis, range: r.x }, yaxis: { ...axis, range: r.y },
    };
    quiet(window.Plotly.react(this.el, data, layout, CONFIG));
    this.drawn = { x: r.x[1], y: r.y[1] };
    this.symbols = g.symbol;
    this.textpos = g.textposition.join();
  }

  /** Draw a frame: a fresh build when the display subsample or the view changed, else an animation step. */
  draw(frame, radius) {
    const key = [frame.trueLabels, frame.flipped, frame.labels];
    this.el.dataset.step = String(frame.step); // the step shown (tests read it)
    if (!this.key || !key.every((arr, i) => sameItems(arr, this.key[i])) || !this.el._fullLayout) {
      this.key = key.map((arr) => Uint8Array.from(arr));
      this.build(frame, radius);
      return;
    }
    const r = this.ranges(radius); // a new radius, or a new aspect after the window was resized
    if (Math.abs(r.x[1] - this.drawn.x) > 0.005 * r.x[1] || Math.abs(r.y[1] - this.drawn.y) > 0.005 * r.y[1]) {
      this.build(frame, radius);
      return;
    }
    const g = this.geometry(frame);
    const points = { x: g.x, y: g.y };
    if (!sameItems(g.symbol, this.symbols)) {
      points.marker = { symbol: g.symbol };
      this.symbols = g.symbol;
    }
    const templates = { x: g.tx, y: g.ty };
    const textpos = g.textposition.join();
    if (textpos !== this.textpos) {
      templates.textposition = g.textposition;
      this.textpos = textpos;
    }
    quiet(window.Plotly.animate(this.el, { data: [points, { x: g.fx, y: g.fy }, templates], traces: [0, 1, 2] }, ANIMATE));
  }

  /** Forget the current display subsample and view (after a reset the next frame rebuilds). */
  clear() {
    this.key = null;
    this.radius = null;
    this.smallSince = null;
  }
}
