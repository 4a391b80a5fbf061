/** Line charts over training steps (loss, logit gap, template distances, ECE), fed from the history. */

import { RUN_COLORS, baseLayout, htmlLegend, react } from "./plots.js";

const MAX_POINTS = 1_500; // per trace; beyond it every other old point is dropped

/** A line chart whose series read one number from each history entry. */
export class LineChart {
  /** series: [{name, color, dash, width, yaxis, value(entry) → number|null}]; layout: extra layout. */
  constructor(el, series, layout = {}) {
    this.el = el;
    this.series = series;
    this.layoutExtra = layout;
    this.revision = 0;
    const keys = document.querySelector(`.keys[data-for="${el.id}"]`);
    if (keys) htmlLegend(keys, series);
    this.clear();
  }

  clear() {
    this.x = [];
    this.y = this.series.map(() => []);
    this.dirty = true;
  }

  /** Append history entries (not drawn until draw()). */
  push(entries) {
    for (const e of entries) {
      this.x.push(e.step);
      this.series.forEach((s, i) => {
        const v = s.value(e);
        this.y[i].push(v === undefined || v === null || !Number.isFinite(v) ? null : v);
      });
    }
    if (this.x.length > MAX_POINTS) {
      const keep = (_, i) => i % 2 === 0 || i >= this.x.length / 2;
      this.x = this.x.filter(keep);
      this.y = this.y.map((arr) => arr.filter(keep));
    }
    if (entries.length) this.dirty = true;
  }

  /** Replace the newest point (the same step, sent again after a live change such as ε). */
  replaceLast(entry) {
    const last = this.x.length - 1;
    if (last < 0 || this.x[last] !== entry.step) return;
    this.series.forEach((s, i) => {
      const v = s.value(entry);
      this.y[i][last] = v === undefined || v === null || !Number.isFinite(v) ? null : v;
    });
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    this.revision += 1;
    const data = this.series.map((s, i) => ({
      type: "scatter", mode: "lines", name: s.name, x: this.x, y: this.y[i], yaxis: s.yaxis || "y",
      line: { color: s.color, width: s.width || 2.2, dash: s.dash || "solid", shape: s.shape || "linear" },
      connectgaps: false, hovertemplate: `%{y:.4g}<extra>${s.name}</extra>`,
    }));
    const layout = baseLayout({ ...this.layoutExtra, datarevision: this.revision, xaxis: { title: { text: "step", standoff: 4 }, ...(this.layoutExtra.xaxis || {}) } });
    react(this.el, data, layout);
  }
}

const B = RUN_COLORS.baseline;
const S = RUN_COLORS.smoothed;
const m = (run, key) => (e) => (e[run] ? e[run][key] : null);

/** The four line charts of the page, by element id. */
export function makeLineCharts() {
  const $ = (id) => document.getElementById(id);
  return {
    loss: new LineChart($("loss-chart"), [
      { name: "one-hot train", color: B, value: m("baseline", "train_loss") },
      { name: "one-hot val", color: B, dash: "dot", value: m("baseline", "val_loss") },
      { name: "smoothed train", color: S, value: m("smoothed", "train_loss") },
      { name: "smoothed val", color: S, dash: "dot", value: m("smoothed", "val_loss") },
      { name: "loss floor (ε)", color: S, dash: "dash", width: 2, shape: "hv", value: m("smoothed", "loss_floor") },
    ], { yaxis: { type: "log", dtick: "D2", tickformat: ".2~g", title: { text: "loss (log scale)", standoff: 4 } } }),
    gap: new LineChart($("gap-chart"), [
      { name: "one-hot", color: B, value: m("baseline", "logit_gap") },
      { name: "smoothed", color: S, value: m("smoothed", "logit_gap") },
      { name: "optimum ln(1+K(1−ε)/ε)", color: S, dash: "dash", width: 2, shape: "hv", value: m("smoothed", "optimal_logit_gap") },
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
        ticks: "outside", ticklen: 4, tickcolor: "#c9ced6", tickformat: ".2f", title: { text: "wrong-template spread", font: { size: 12 } } },
    }),
    ece: new LineChart($("ece-chart"), [
      { name: "one-hot", color: B, value: m("baseline", "ece") },
      { name: "smoothed", color: S, value: m("smoothed", "ece") },
      { name: "one-hot + temperature scaling", color: RUN_COLORS.scaled, dash: "dashdot", value: m("baseline", "ece_ts") },
    ], { yaxis: { title: { text: "ECE", standoff: 4 }, rangemode: "tozero" } }),
  };
}
