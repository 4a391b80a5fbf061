/** Line charts over training steps (loss, logit gap, template distances, ECE), fed from the history.

A chart is drawn in full (Plotly.react) once, and again only after a reset, a thinning of its history or
a replaced point; otherwise the points that arrived since its last draw are appended with
Plotly.extendTraces (plain arrays). History stays bounded: beyond MAX_POINTS per trace the older half
is thinned to every other point, so a long run keeps its whole shape at a fixed cost per draw.
Theory lines (the loss floor, the optimal logit gap) depend on ε only: they get a point where ε
changed and one at the newest step, never a point per measurement.
*/

import { $ } from "../lib/dom.js";
import { FONT, RUN_COLORS, baseLayout, htmlLegend, quiet, react } from "../lib/plots.js";

const MAX_POINTS = 400; // per trace; a chart is a few hundred pixels wide

const clean = (v) => (v === undefined || v === null || !Number.isFinite(v) ? null : v);

/** A line chart whose series read one number from each history entry. */
export class LineChart {
  /** series: [{name, color, dash, width, yaxis, theory, value(entry) → number|null}]; layout: extra layout. */
  constructor(el, series, layout = {}) {
    this.el = el;
    this.series = series;
    this.layoutExtra = layout;
    const keys = document.querySelector(`.keys[data-for="${el.id}"]`);
    if (keys) htmlLegend(keys, series);
    this.clear();
  }

  clear() {
    this.x = this.series.map(() => []);
    this.y = this.series.map(() => []);
    this.sent = this.series.map(() => 0); // points of each trace the graph already has
    this.moved = this.series.map(() => false); // a theory line's end moved since the last draw
    this.full = true; // the next draw rebuilds the graph
    this.dirty = false;
  }

  /** The timeline's cursor: a vertical line at `step` (null: none). */
  setCursor(step) {
    this.cursor = step;
    if (this.el.data) quiet(window.Plotly.relayout(this.el, { shapes: this.cursorShapes() }));
  }

  cursorShapes() {
    if (this.cursor === null || this.cursor === undefined) return [];
    return [{ type: "line", xref: "x", yref: "paper", x0: this.cursor, x1: this.cursor, y0: 0, y1: 1,
      line: { color: "#1f2430", width: 1.5, dash: "dot" } }];
  }

  /** Append history entries (not drawn until draw()). */
  push(entries) {
    for (const e of entries) {
      this.series.forEach((s, i) => {
        const v = clean(s.value(e));
        const x = this.x[i];
        const y = this.y[i];
        const n = x.length;
        if (s.theory && n >= 2 && y[n - 1] === v && y[n - 2] === v) {
          x[n - 1] = e.step; // a level theory line: its end moves along, no new point
          this.moved[i] = true;
          return;
        }
        x.push(e.step);
        y.push(v);
      });
      this.dirty = true;
    }
    this.series.forEach((s, i) => {
      if (this.x[i].length <= MAX_POINTS) return;
      const half = this.x[i].length / 2;
      const keep = (_, k) => k % 2 === 0 || k >= half;
      this.x[i] = this.x[i].filter(keep);
      this.y[i] = this.y[i].filter(keep);
      this.full = true;
    });
  }

  /** Replace the newest point (the same step, measured again after a live change such as ε): a full redraw. */
  replaceLast(entry) {
    this.series.forEach((s, i) => {
      const x = this.x[i];
      const y = this.y[i];
      const last = x.length - 1;
      const v = clean(s.value(entry));
      if (last < 0 || x[last] !== entry.step || y[last] === v) return;
      if (s.theory && (last === 0 || y[last - 1] === y[last])) {
        x.push(entry.step); // a theory line keeps its old level up to this step, then steps to the new one
        y.push(v);
      } else {
        y[last] = v;
      }
      this.full = true;
      this.dirty = true;
    });
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    const ready = !this.full && this.el.data && this.el.data.length === this.series.length;
    if (ready) {
      const idx = [];
      const x = [];
      const y = [];
      this.series.forEach((s, i) => {
        const n = this.x[i].length;
        // a theory line whose end moved along: its end again, at the new step (the old end stays, level)
        const start = Math.min(this.sent[i], this.moved[i] ? n - 1 : n);
        this.sent[i] = n;
        if (start >= n || start < 0) return;
        idx.push(i);
        x.push(this.x[i].slice(start));
        y.push(this.y[i].slice(start));
      });
      this.moved.fill(false);
      if (!idx.length) return;
      quiet(window.Plotly.extendTraces(this.el, { x, y }, idx));
      return;
    }
    this.full = false;
    const data = this.series.map((s, i) => ({
      type: "scatter", mode: "lines", name: s.name, x: this.x[i].slice(), y: this.y[i].slice(), yaxis: s.yaxis || "y",
      line: { color: s.color, width: s.width || 2.2, dash: s.dash || "solid", shape: s.shape || "linear" },
      connectgaps: false, hovertemplate: `%{y:.4g}<extra>${s.name}</extra>`,
    }));
    this.sent = this.x.map((arr) => arr.length);
    this.moved.fill(false);
    const layout = baseLayout({ ...this.layoutExtra, xaxis: { title: { text: "step", standoff: 4 }, ...(this.layoutExtra.xaxis || {}) },
      shapes: this.cursorShapes() });
    react(this.el, data, layout);
  }
}

const B = RUN_COLORS.baseline;
const S = RUN_COLORS.smoothed;
const m = (run, key) => (e) => (e[run] ? e[run][key] : null);

/** A chart's layout for the projector view: larger text and room for it. */
function largeLayout(layout) {
  const tickfont = { size: 16 };
  const title = (axis) => (axis && axis.title ? { ...axis.title, font: { size: 17 } } : undefined);
  return {
    ...layout,
    font: { ...FONT, size: 17 },
    margin: { l: 78, r: layout.yaxis2 ? 96 : 20, t: 12, b: 56 },
    xaxis: { ...(layout.xaxis || {}), tickfont, title: { text: "step", standoff: 6, font: { size: 17 } } },
    yaxis: { ...(layout.yaxis || {}), tickfont, title: title(layout.yaxis) },
    ...(layout.yaxis2 ? { yaxis2: { ...layout.yaxis2, tickfont, title: title(layout.yaxis2) } } : {}),
  };
}

/** The four line charts of the page, by element id; large: the projector view's text sizes. */
export function makeLineCharts({ large = false } = {}) {
  const charts = {
    loss: new LineChart($("loss-chart"), [
      { name: "one-hot train", color: B, value: m("baseline", "train_loss") },
      { name: "one-hot val", color: B, dash: "dot", value: m("baseline", "val_loss") },
      { name: "smoothed train", color: S, value: m("smoothed", "train_loss") },
      { name: "smoothed val", color: S, dash: "dot", value: m("smoothed", "val_loss") },
      { name: "loss floor (ε)", color: S, dash: "dash", width: 2, shape: "hv", theory: true, value: m("smoothed", "loss_floor") },
    ], { yaxis: { type: "log", dtick: "D2", tickformat: ".2~g", title: { text: "loss (log scale)", standoff: 4 } } }),
    gap: new LineChart($("gap-chart"), [
      { name: "one-hot", color: B, value: m("baseline", "logit_gap") },
      { name: "smoothed", color: S, value: m("smoothed", "logit_gap") },
      { name: "optimum ln(1+K(1−ε)/ε)", color: S, dash: "dash", width: 2, shape: "hv", theory: true, value: m("smoothed", "optimal_logit_gap") },
    ], { yaxis: { title: { text: "logit gap", standoff: 4 } } }),
    distance: new LineChart($("distance-chart"), [
      { name: "one-hot correct", color: B, value: m("baseline", "dist_correct") },
      { name: "one-hot wrong", color: B, dash: "dash", value: m("baseline", "dist_incorrect") },
      { name: "smoothed correct", color: S, value: m("smoothed", "dist_correct") },
      { name: "smoothed wrong", color: S, dash: "dash", value: m("smoothed", "dist_incorrect") },
      { name: "one-hot spread", color: B, dash: "dot", width: 1.6, yaxis: "y2", value: m("baseline", "incorrect_spread") },
      { name: "smoothed spread", color: S, dash: "dot", width: 1.6, yaxis: "y2", value: m("smoothed", "incorrect_spread") },
    ], {
      yaxis: { title: { text: "mean distance", standoff: 4 } },
      margin: { l: 56, r: 74, t: 10, b: 40 },
      yaxis2: { overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, fixedrange: true, zeroline: false,
        ticks: "outside", ticklen: 4, tickcolor: "#c9ced6", tickformat: ".2f", ticklabeloverflow: "allow",
        title: { text: "wrong-template spread", font: { size: 12 } } },
    }),
    ece: new LineChart($("ece-chart"), [
      { name: "one-hot", color: B, value: m("baseline", "ece") },
      { name: "smoothed", color: S, value: m("smoothed", "ece") },
      { name: "one-hot + temperature scaling", color: RUN_COLORS.scaled, dash: "dashdot", value: m("baseline", "ece_ts") },
    ], { yaxis: { title: { text: "ECE", standoff: 4 }, rangemode: "tozero" } }),
  };
  if (large) for (const chart of Object.values(charts)) chart.layoutExtra = largeLayout(chart.layoutExtra);
  return charts;
}
