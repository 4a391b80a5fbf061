/** Bar-like charts: confidence histogram, reliability diagram, and the target vectors for the current ε. */

import { REFERENCE_COLOR, RUN_COLORS, baseLayout, htmlLegend, react, rgba } from "../lib/plots.js";
import { smoothedTargets } from "../lib/theory.js";

const K = 3;
const RUNS = [
  ["baseline", "one-hot", RUN_COLORS.baseline],
  ["smoothed", "smoothed", RUN_COLORS.smoothed],
];

/** Centres of n equal-width bins on [0, 1]. */
function centres(n) {
  return Array.from({ length: n }, (_, b) => (b + 0.5) / n);
}

/** HTML legends of the confidence and reliability charts (they do not change). */
export function barLegends() {
  const keys = (id) => document.querySelector(`.keys[data-for="${id}"]`);
  htmlLegend(keys("confidence-chart"), RUNS.map(([, name, color]) => ({ name, color: rgba(color, 0.8), swatchWidth: 8 })));
  htmlLegend(keys("reliability-chart"), [
    { name: "perfectly calibrated", color: REFERENCE_COLOR, dash: "dash" },
    ...RUNS.map(([, name, color]) => ({ name, color })),
    { name: "one-hot + temperature scaling", color: RUN_COLORS.scaled, dash: "dashdot" },
  ]);
}

/** Histogram of the max probability on validation (reliability.count) for both runs. */
export function drawConfidence(el, frame) {
  const data = RUNS.map(([key, name, color]) => {
    const count = frame.runs[key].reliability.count;
    return {
      type: "bar", name, x: centres(count.length), y: count, marker: { color: rgba(color, 0.8) },
      hovertemplate: `%{y} points<extra>${name}</extra>`,
    };
  });
  react(el, data, baseLayout({
    barmode: "group", bargap: 0.12, hovermode: "closest",
    xaxis: { range: [1 / 3, 1], title: { text: "max probability (1/K … 1)", standoff: 4 }, tickvals: [1 / 3, 0.5, 0.6, 0.7, 0.8, 0.9, 1], ticktext: ["⅓", "0.5", "0.6", "0.7", "0.8", "0.9", "1"] },
    yaxis: { title: { text: "points", standoff: 4 }, rangemode: "tozero" },
  }));
}

/** Reliability diagram: accuracy against mean confidence per non-empty bin, size ∝ points in the bin. runs:
[key, name, colour] of the frame's runs drawn; the first run's reliabilityScaled, if any, is drawn as `scaledName`. */
export function drawReliability(el, frame, runs = RUNS, scaledName = "one-hot + temperature scaling") {
  const data = [{
    type: "scatter", mode: "lines", x: [0, 1], y: [0, 1], name: "perfectly calibrated",
    line: { color: REFERENCE_COLOR, dash: "dash", width: 1.5 }, hoverinfo: "skip",
  }];
  const curves = runs.map(([key, name, color]) => [frame.runs[key].reliability, name, color, "solid"]);
  const scaled = frame.runs[runs[0][0]].reliabilityScaled;
  if (scaled) curves.push([scaled, scaledName, RUN_COLORS.scaled, "dashdot"]);
  let least = 1; // the lowest mean confidence drawn: with K classes it can be as low as 1/K
  for (const [rel, name, color, dash] of curves) {
    const total = rel.count.reduce((a, b) => a + b, 0) || 1;
    const keep = rel.count.map((n, b) => (n > 0 ? b : -1)).filter((b) => b >= 0);
    for (const b of keep) least = Math.min(least, rel.confidence[b]);
    data.push({
      type: "scatter", mode: "lines+markers", name, x: keep.map((b) => rel.confidence[b]), y: keep.map((b) => rel.accuracy[b]),
      line: { color, width: 2, dash }, customdata: keep.map((b) => rel.count[b]),
      marker: { color, size: keep.map((b) => 6 + 18 * Math.sqrt(rel.count[b] / total)), line: { color: "#fff", width: 1 } },
      hovertemplate: `confidence %{x:.2f}, accuracy %{y:.2f}, %{customdata} points<extra>${name}</extra>`,
    });
  }
  react(el, data, baseLayout({
    hovermode: "closest",
    xaxis: { range: [Math.min(0.3, least - 0.03), 1.02], title: { text: "mean confidence in bin", standoff: 4 }, dtick: 0.1 },
    yaxis: { range: [0, 1.05], title: { text: "accuracy in bin", standoff: 4 }, dtick: 0.2 },
  }));
}

/** The one-hot and smoothed target vectors for a point of class 1, as small grouped bars; names: the classes' names. */
export function drawTargets(el, eps, names = ["class 0", "class 1", "class 2"]) {
  const x = names.map((name, i) => (i === 1 ? `${name} (true)` : name));
  const oneHot = smoothedTargets(0, K, 1);
  const smooth = smoothedTargets(eps, K, 1);
  const data = [
    { type: "bar", name: "one-hot", x, y: oneHot, marker: { color: rgba(RUN_COLORS.baseline, 0.85) },
      text: oneHot.map((v) => v.toFixed(2)), textposition: "outside", cliponaxis: false, hoverinfo: "skip" },
    { type: "bar", name: `smoothed, ε = ${Number(eps.toPrecision(3))}`, x, y: smooth, marker: { color: rgba(RUN_COLORS.smoothed, 0.85) },
      text: smooth.map((v) => v.toFixed(3)), textposition: "outside", cliponaxis: false, hoverinfo: "skip" },
  ];
  react(el, data, baseLayout({
    barmode: "group", bargap: 0.25, hovermode: false, showlegend: true, margin: { l: 56, r: 14, t: 34, b: 30 },
    yaxis: { range: [0, 1.18], title: { text: "target q′", standoff: 4 }, dtick: 0.25 },
  }));
}
