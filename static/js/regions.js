/** The input-space panel (2-D datasets): decision regions shaded by confidence, with the training points. */

import { CLASS_COLORS, FONT, CONFIG, tint } from "./plots.js";

const GRID = 48;
const NOOP = () => {};

/** One colour ramp per class: pale where the run is unsure (max p = 1/3), saturated where it is sure. */
const COLORSCALE = CLASS_COLORS.flatMap((color, c) => [
  [c / 3, tint(color, 0.04)],
  [c === 2 ? 1 : (c + 1) / 3 - 1e-4, tint(color, 0.62)],
]);

function linspace(a, b, n) {
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

/** Region arrays → heatmap rows (row = y): class c with confidence p maps to c + (p − 1/3)/(2/3). */
function regionZ(regionClass, regionConf) {
  const z = [];
  for (let r = 0; r < GRID; r++) {
    const row = new Array(GRID);
    for (let col = 0; col < GRID; col++) {
      const i = r * GRID + col;
      const f = Math.min(0.999, Math.max(0, (regionConf[i] / 255 - 1 / 3) * 1.5));
      row[col] = regionClass[i] + f;
    }
    z.push(row);
  }
  return z;
}

/** Draw one run's input-space view into `el`: regions, training points by true class, flipped labels ringed. */
export function drawRegions(el, frame, runName) {
  const run = frame.runs[runName];
  if (!run.region_class || !frame.inputs || !frame.extent) return;
  const [x0, x1, y0, y1] = frame.extent;
  const n = frame.trueLabels.length;
  const px = new Array(n);
  const py = new Array(n);
  const colors = new Array(n);
  const flipX = [];
  const flipY = [];
  const flipColors = [];
  for (let i = 0; i < n; i++) {
    px[i] = frame.inputs[2 * i];
    py[i] = frame.inputs[2 * i + 1];
    colors[i] = CLASS_COLORS[frame.trueLabels[i]];
    if (frame.flipped[i]) {
      flipX.push(px[i]);
      flipY.push(py[i]);
      flipColors.push(CLASS_COLORS[frame.labels[i]]);
    }
  }
  const data = [
    { type: "heatmap", x: linspace(x0, x1, GRID), y: linspace(y0, y1, GRID), z: regionZ(run.region_class, run.region_conf),
      zmin: 0, zmax: 3, colorscale: COLORSCALE, showscale: false, hoverinfo: "skip", zsmooth: "fast" },
    { type: "scatter", mode: "markers", x: px, y: py, hoverinfo: "skip",
      marker: { color: colors, size: 6, line: { width: 0 } } },
    { type: "scatter", mode: "markers", x: flipX, y: flipY, hoverinfo: "skip",
      marker: { symbol: "circle-open", size: 12, color: flipColors, line: { width: 2 } } },
  ];
  const axis = { range: null, showgrid: false, zeroline: false, fixedrange: true, ticks: "", tickfont: { size: 11, color: "#8b949e" } };
  const layout = {
    font: FONT, showlegend: false, hovermode: false, dragmode: false,
    margin: { l: 30, r: 8, t: 26, b: 22 }, paper_bgcolor: "rgba(0,0,0,0)",
    title: { text: runName === "baseline" ? "one-hot (ε = 0)" : `smoothed (ε = ${Number(run.eps.toPrecision(3))})`, font: { size: 14 }, x: 0.02, y: 0.98, yanchor: "top" },
    xaxis: { ...axis, range: [x0, x1] }, yaxis: { ...axis, range: [y0, y1] },
  };
  const done = window.Plotly.react(el, data, layout, CONFIG);
  if (done && done.catch) done.catch(NOOP);
}
