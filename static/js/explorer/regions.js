/** The input-space panel (2-D datasets): decision regions shaded by confidence, with the training points.

The axes and the training points are a Plotly chart drawn once per run (the inputs do not move); the
48 × 48 region grid, which changes on every region frame, is an image on a small <canvas> under the
chart's transparent plot area, scaled by the browser with smoothing: a few microseconds instead of a
Plotly heatmap redraw. PNG export puts the same image into the chart as a layout image.
*/

import { CLASS_COLORS, CONFIG, FONT, quiet } from "../lib/plots.js";

const GRID = 48;
const PALE = 0.04; // tint of a class where the run is unsure (max p = 1/3) ...
const SURE = 0.62; // ... and where it is sure (max p = 1)

/** rgb of #rrggbb mixed with white: t = 0 white, 1 the colour. */
function tintRgb(hex, t) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => Math.round(255 + (c - 255) * t));
}

/** Colour of (class c, confidence byte q): pale where max p = 1/3, saturated where it is 1. */
const LUT = (() => {
  const lut = new Uint8ClampedArray(3 * 256 * 3);
  CLASS_COLORS.forEach((color, c) => {
    for (let q = 0; q < 256; q++) {
      const f = Math.min(1, Math.max(0, (q / 255 - 1 / 3) * 1.5));
      lut.set(tintRgb(color, PALE + (SURE - PALE) * f), 3 * (256 * c + q));
    }
  });
  return lut;
})();

/** The region canvas of a chart element (created on first use, kept across Plotly redraws). */
function regionCanvas(el) {
  if (el.regionBox && el.contains(el.regionBox)) return el.regionBox.firstChild;
  const box = document.createElement("div");
  box.className = "regions";
  box.setAttribute("aria-hidden", "true");
  const canvas = document.createElement("canvas");
  canvas.width = GRID;
  canvas.height = GRID;
  box.append(canvas);
  el.prepend(box);
  el.regionBox = box;
  el.exportLayout = () => {
    if (!el.regionExtent) return {};
    const [x0, x1, y0, y1] = el.regionExtent;
    const dx = (x1 - x0) / (GRID - 1);
    const dy = (y1 - y0) / (GRID - 1);
    return {
      plot_bgcolor: "#ffffff",
      images: [{ source: canvas.toDataURL("image/png"), xref: "x", yref: "y", x: x0 - dx / 2, y: y1 + dy / 2,
        sizex: GRID * dx, sizey: GRID * dy, sizing: "stretch", layer: "below", xanchor: "left", yanchor: "top" }],
    };
  };
  return canvas;
}

/** Put the region box over the chart's plot area; the grid's cell centres sit on the axis ends. */
function placeRegions(el) {
  const size = el._fullLayout && el._fullLayout._size;
  if (!size || !el.regionBox) return;
  const box = el.regionBox;
  Object.assign(box.style, { left: `${size.l}px`, top: `${size.t}px`, width: `${size.w}px`, height: `${size.h}px` });
  const canvas = box.firstChild;
  const cw = size.w / (GRID - 1);
  const ch = size.h / (GRID - 1);
  Object.assign(canvas.style, { left: `${-cw / 2}px`, top: `${-ch / 2}px`, width: `${size.w + cw}px`, height: `${size.h + ch}px` });
}

/** Paint one run's region grid (row-major from (x0, y0), y up) into its canvas. */
export function paintRegions(el, frame, runName) {
  const run = frame.runs[runName];
  if (!run.region_class || !run.region_conf) return;
  const canvas = regionCanvas(el);
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(GRID, GRID);
  const px = image.data;
  const cls = run.region_class;
  const conf = run.region_conf;
  for (let r = 0; r < GRID; r++) {
    const out = (GRID - 1 - r) * GRID; // canvas rows run top-down
    for (let col = 0; col < GRID; col++) {
      const i = r * GRID + col;
      const at = 3 * (256 * Math.min(cls[i], 2) + conf[i]);
      const o = 4 * (out + col);
      px[o] = LUT[at];
      px[o + 1] = LUT[at + 1];
      px[o + 2] = LUT[at + 2];
      px[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  placeRegions(el);
}

/** Draw the chart of one run's input space: axes over the grid's extent, training points by true class,
flipped labels ringed; eps: the run's ε now (for its title). */
export function drawInputPoints(el, frame, runName, eps) {
  if (!frame.inputs || !frame.extent) return;
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
    { type: "scatter", mode: "markers", x: px, y: py, hoverinfo: "skip",
      marker: { color: colors, size: 6, line: { width: 0 } } },
    { type: "scatter", mode: "markers", x: flipX, y: flipY, hoverinfo: "skip",
      marker: { symbol: "circle-open", size: 12, color: flipColors, line: { width: 2 } } },
  ];
  const axis = { showgrid: false, zeroline: false, fixedrange: true, ticks: "", tickfont: { size: 11, color: "#8b949e" }, ticklabeloverflow: "allow" };
  const layout = {
    font: FONT, showlegend: false, hovermode: false, dragmode: false,
    margin: { l: 30, r: 8, t: 26, b: 22 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    title: { text: runName === "baseline" ? "one-hot (ε = 0)" : `smoothed (ε = ${Number(eps.toPrecision(3))})`, font: { size: 14 }, x: 0.02, y: 0.98, yanchor: "top" },
    xaxis: { ...axis, range: [x0, x1] }, yaxis: { ...axis, range: [y0, y1] },
  };
  regionCanvas(el);
  el.regionExtent = [x0, x1, y0, y1];
  quiet(window.Plotly.react(el, data, layout, CONFIG));
  if (!el.regionListener && el.on) {
    el.regionListener = () => placeRegions(el); // Plotly redraws on resize: follow the plot area
    el.on("plotly_afterplot", el.regionListener);
  }
  placeRegions(el);
}
