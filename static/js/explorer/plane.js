/** A template-plane panel: penultimate activations projected onto the plane of the three templates.

Plotly draws the panel's axes (one empty trace: grid and ticks, equal aspect through the ranges); a
canvas over the whole graph carries the points, rings, templates and triangle (layer.js), painted by
the painter (painter.js, in a worker where the browser allows) through Plotly's own plot area and
ranges. Each server frame is a target the painter moves the positions to over one frame period; a new
display subsample or a step back (another run) is a jump. The axes keep their range while everything
fits, grow at once and shrink in small steps (view.js); a new range is one Plotly.relayout of the axes
alone. Before Plotly.js has loaded, the same margins give the plot area, so the first frame is drawn
at once.

For tests and benchmarks the graph element carries `plane` (this object; `await plane.snapshot()`)
and `data-step` (the step of the newest frame, the one shown or being moved to).
*/

import { CONFIG, FONT, quiet } from "../lib/plots.js";
import { paintScene } from "./layer.js";
import { ViewRadius, nearestPoint, needOf, rangesDiffer, rangesFor } from "./view.js";

const MARGINS = { l: 34, r: 10, t: 10, b: 26 };
const MARGINS_LARGE = { l: 52, r: 14, t: 14, b: 36 }; // the projector view's larger tick labels
const HISTORY = 40; // transitions kept for tests (a jump or a move, from which step to which)
const VIEW_KEYS = ["width", "height", "res", "l", "w", "t", "h", "x0", "x1", "y0", "y1"];

/** Same length and items (typed or plain arrays). */
function sameItems(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class TemplatePlane {
  /** el: the graph div; runName: "baseline" or "smoothed"; large: the projector view's text sizes. */
  constructor(el, runName, { large = false } = {}) {
    this.el = el;
    this.runName = runName;
    this.large = large;
    this.margins = large ? MARGINS_LARGE : MARGINS;
    this.canvas = this.newCanvas();
    this.painter = null; // set by the renderer (attach)
    this.onRedraw = () => {}; // called after Plotly redrew the axes (the renderer asks for a tick)
    this.radius = new ViewRadius();
    this.key = null; // the display subsample's labels: a new one is a jump
    this.scene = null;
    this.target = null; // the newest frame's positions: 2n points, then 6 template coordinates
    this.wrong = null;
    this.recent = []; // the last few targets: what the drawn positions can be between
    this.step = null;
    this.axes = null; // the ranges the Plotly axes were given
    this.view = null; // the view last sent to the painter
    this.scale = 1;
    this.transitions = [];
    this.frame = null; // the frame of the newest target (the inspector's tooltip reads its predictions)
    this.highlighted = -1; // the inspected point, ringed
    el.plane = this;
    el.exportOverlay = (ctx, box) => this.exportOverlay(ctx, box);
  }

  /** A fresh canvas over the graph (a painter worker that cannot run leaves its canvases unusable). */
  newCanvas() {
    if (this.canvas) this.canvas.remove();
    const canvas = document.createElement("canvas");
    canvas.className = "points-layer";
    canvas.setAttribute("aria-hidden", "true");
    this.el.append(canvas);
    return canvas;
  }

  /** Paint with this painter from now on: it gets the scene, the newest target and the view again. */
  attach(painter) {
    this.painter = painter;
    if (this.scene) painter.scene(this.runName, this.scene);
    if (this.target) painter.target(this.runName, { positions: this.target, wrong: this.wrong, step: this.step, duration: 0 });
    if (this.view) painter.view(this.runName, this.view, this.scale);
    if (this.highlighted >= 0) painter.highlight(this.runName, this.highlighted);
  }

  /** Ring display point `index` (-1: none). */
  highlight(index) {
    this.highlighted = index;
    if (this.painter) this.painter.highlight(this.runName, index);
  }

  /** The display point drawn nearest to (clientX, clientY), within `maxPx` CSS pixels: its index, or -1.
  Hit-tests the newest target (what a paused panel shows exactly; while playing, within one frame's motion). */
  pick(clientX, clientY, maxPx = 8) {
    if (!this.scene || !this.target || !this.view) return -1;
    const box = this.el.getBoundingClientRect();
    return nearestPoint(this.target, this.scene.n, this.view, clientX - box.left, clientY - box.top, maxPx);
  }

  /** The newest frame: move there over `duration` ms (0: jump there). A new display subsample, or a step
  before the one shown (another run), is always a jump. */
  setTarget(frame, duration) {
    const run = frame.runs[this.runName];
    if (!run || !run.points || !run.templates) return;
    const n = frame.trueLabels.length;
    const key = [frame.trueLabels, frame.flipped, frame.labels];
    const fresh = !this.key || !key.every((arr, i) => sameItems(arr, this.key[i]));
    const back = this.step !== null && frame.step < this.step;
    if (fresh) {
      this.key = key.map((arr) => Uint8Array.from(arr));
      const flips = [];
      for (let i = 0; i < n; i++) if (frame.flipped[i]) flips.push(i);
      this.scene = { n, classes: this.key[0], flips: Int32Array.from(flips), flipClasses: Uint8Array.from(flips, (i) => frame.labels[i]) };
      if (frame.templateNames) this.scene.templateNames = frame.templateNames; // labels other than w₀ w₁ w₂
      this.recent = [];
      this.painter.scene(this.runName, this.scene);
    }
    const target = new Float32Array(2 * n + 6);
    target.set(run.points.subarray(0, 2 * n));
    target.set(run.templates.subarray(0, 6), 2 * n);
    const wrong = new Uint8Array(n);
    for (let i = 0; i < n; i++) wrong[i] = run.pred[i] !== frame.trueLabels[i] ? 1 : 0;
    const jump = fresh || back || !(duration > 0);
    this.target = target;
    this.wrong = wrong;
    this.recent.push(target);
    if (this.recent.length > 3) this.recent.shift();
    this.painter.target(this.runName, { positions: target, wrong, step: frame.step, duration: jump ? 0 : duration });
    this.transitions.push({ from: this.step, to: frame.step, kind: jump ? "jump" : "move", ms: jump ? 0 : duration });
    if (this.transitions.length > HISTORY) this.transitions.shift();
    this.step = frame.step;
    this.frame = frame;
    this.el.dataset.step = String(frame.step);
  }

  /** The view's half-width for this panel alone: what the drawn positions (between the last few targets)
  need, grown at once, shrunk slowly. Null before the first frame. */
  ease(now) {
    if (!this.recent.length) return null;
    return this.radius.ease(needOf(...this.recent), now);
  }

  /** Bring the axes and the painter's view to half-width `radius` (a new range, a resized graph). */
  update(radius) {
    if (radius === null || !this.target) return;
    const view = this.currentView(radius);
    if (!view) return;
    const scale = this.markerScale(view);
    if (this.view && scale === this.scale && VIEW_KEYS.every((k) => view[k] === this.view[k])) return;
    this.view = view;
    this.scale = scale;
    this.canvas.style.width = `${view.width}px`;
    this.canvas.style.height = `${view.height}px`;
    this.painter.view(this.runName, view, scale);
  }

  /** The plot area and ranges: Plotly's, once it has drawn the axes; before, the same margins over the div. */
  currentView(radius) {
    const res = window.devicePixelRatio || 1;
    if (window.Plotly && !this.axes) this.buildAxes(radius);
    const full = this.el._fullLayout;
    if (full && full.xaxis && full.xaxis._length > 0 && full.yaxis._length > 0) {
      const want = rangesFor(radius, full.xaxis._length / full.yaxis._length);
      if (rangesDiffer(want, this.axes)) this.setRanges(want);
      const x = full.xaxis;
      const y = full.yaxis;
      return { width: full.width, height: full.height, res, l: x._offset, w: x._length, t: y._offset, h: y._length,
        x0: x.range[0], x1: x.range[1], y0: y.range[0], y1: y.range[1] };
    }
    const width = this.el.clientWidth;
    const height = this.el.clientHeight;
    const m = this.margins;
    const w = width - m.l - m.r;
    const h = height - m.t - m.b;
    if (!(w > 0 && h > 0)) return null;
    const r = rangesFor(radius, w / h);
    return { width, height, res, l: m.l, w, t: m.t, h, x0: r.x[0], x1: r.x[1], y0: r.y[0], y1: r.y[1] };
  }

  /** Plotly draws the axes: one empty trace, fixed ranges, no interaction. */
  buildAxes(radius) {
    const w = this.el.clientWidth - this.margins.l - this.margins.r;
    const h = this.el.clientHeight - this.margins.t - this.margins.b;
    const r = rangesFor(radius, h > 0 ? w / h : 1.4);
    const axis = { zeroline: false, gridcolor: "#eef0f3", fixedrange: true, ticks: "", showline: false,
      tickfont: { size: this.large ? 17 : 11, color: "#8b949e" }, ticklabeloverflow: "allow" };
    const layout = {
      font: FONT, showlegend: false, hovermode: false, dragmode: false,
      margin: { ...this.margins }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#ffffff",
      xaxis: { ...axis, range: r.x }, yaxis: { ...axis, range: r.y },
    };
    quiet(window.Plotly.react(this.el, [{ x: [], y: [], type: "scatter", mode: "markers", hoverinfo: "skip" }], layout, CONFIG));
    this.axes = r;
    if (this.el.on && !this.listening) {
      this.listening = true; // Plotly redraws after a resize: the view follows on the next tick
      this.el.on("plotly_afterplot", () => this.onRedraw());
    }
  }

  /** New axis ranges (a view that grew or shrank, or a plot area of another aspect). */
  setRanges(r) {
    quiet(window.Plotly.relayout(this.el, { "xaxis.range": r.x, "yaxis.range": r.y }));
    this.axes = r;
  }

  /** Markers grow with the panel, within bounds; half as large again in the projector view. */
  markerScale(view) {
    const s = (Math.min(view.w, view.h) / 420) * (this.large ? 1.5 : 1);
    return Math.round(Math.min(this.large ? 2.2 : 1.7, Math.max(0.85, s)) * 20) / 20;
  }

  /** Paint the newest frame into a PNG export whose plot area is `box` ({l, t, w, h}, CSS pixels). */
  exportOverlay(ctx, box) {
    if (!this.scene || !this.target || !this.view) return;
    paintScene(ctx, this.scene, this.target, this.wrong, { ...this.view, ...box }, this.scale, this.highlighted);
  }

  /** What the panel shows, for tests: the positions drawn (plane coordinates, from the painter) and the
  newest frame's, the templates' pixels as drawn (CSS pixels from the canvas's top-left), the view, the
  painter's kind, the last transitions. */
  async snapshot() {
    const painted = await this.painter.snapshot(this.runName);
    const n = this.scene ? this.scene.n : 0;
    const split = (a) => (a ? {
      x: Array.from({ length: n }, (_, i) => a[2 * i]), y: Array.from({ length: n }, (_, i) => a[2 * i + 1]),
      tx: [a[2 * n], a[2 * n + 2], a[2 * n + 4]], ty: [a[2 * n + 1], a[2 * n + 3], a[2 * n + 5]],
    } : null);
    return {
      painter: this.painter.kind, step: this.step, drawnStep: painted ? painted.step : null,
      settled: painted ? painted.settled : false, draws: painted ? painted.draws : 0,
      drawn: split(painted && painted.drawn), target: split(this.target), templatesPx: painted ? painted.templatesPx : null,
      view: painted ? painted.view : null, flips: this.scene ? Array.from(this.scene.flips) : [],
      wrong: this.wrong ? Array.from(this.wrong) : [], transitions: this.transitions.slice(),
      highlight: painted && painted.highlight !== undefined ? painted.highlight : -1,
    };
  }

  /** Forget the run (after a reset the next frame is a jump, with a fresh view). */
  clear() {
    this.key = null;
    this.step = null;
    this.recent = [];
    this.radius.reset();
  }
}
