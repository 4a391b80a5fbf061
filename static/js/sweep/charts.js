/** The sweep page's charts (metrics against ε, with the theory curves) and its table and CSV. */

import { toCsv } from "../lib/download.js";
import { FONT, RUN_COLORS, baseLayout, react } from "../lib/plots.js";
import { classCount, lossFloor, optimalLogitGap } from "../lib/theory.js";

const COLUMNS = ["eps", "val_acc", "val_nll", "ece", "logit_gap", "optimal_logit_gap", "train_loss", "loss_floor"];
const CSV_COLUMNS = ["eps", "step", "train_acc", "val_acc", "val_nll", "val_loss", "ece", "mean_confidence",
  "logit_gap", "optimal_logit_gap", "train_loss", "loss_floor"];
const MEASURED = RUN_COLORS.smoothed;
const THEORY = FONT.color;
const BIG = 15; // the sweep's charts are few and large: type readable on a projector

export const CHARTS = {
  acc: { id: "chart-acc", title: "Validation accuracy", y: "accuracy", key: "val_acc", range: [0, 1.02] },
  nll: { id: "chart-nll", title: "Validation NLL (plain cross-entropy)", y: "NLL (nats)", key: "val_nll" },
  ece: { id: "chart-ece", title: "Calibration error (ECE, 15 bins)", y: "ECE", key: "ece" },
  gap: { id: "chart-gap", title: "Train logit gap vs theory", y: "logit gap", key: "logit_gap",
    theory: "ln(1 + K(1 − ε)/ε)", curve: optimalLogitGap },
  loss: { id: "chart-loss", title: "Train loss vs loss floor", y: "smoothed loss (nats)", key: "train_loss",
    theory: "floor: entropy of q'", curve: lossFloor, legendLow: true },
};

function layout(chart, maxEps) {
  const axisFont = { size: BIG };
  const hi = maxEps || 0.5;
  return baseLayout({
    title: { text: chart.title, font: { size: 18 }, x: 0.02, xanchor: "left" },
    margin: { l: 62, r: 16, t: 44, b: 52 },
    font: { ...FONT, size: BIG },
    xaxis: { title: { text: "ε", font: axisFont }, range: [-0.02 * hi, hi * 1.04] },
    yaxis: { title: { text: chart.y, font: axisFont }, ...(chart.range ? { range: chart.range } : { rangemode: "tozero" }) },
    showlegend: Boolean(chart.theory),
    legend: { orientation: "v", x: 0.98, xanchor: "right", y: chart.legendLow ? 0.03 : 0.98,
      yanchor: chart.legendLow ? "bottom" : "top", bgcolor: "rgba(255,255,255,0.85)", font: { size: BIG } },
    hovermode: "closest",
  });
}

/** A dense ε grid over [lo, hi] for the theory curves. */
function grid(lo, hi, n = 200) {
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** The measured points of one chart, one per run, and its theory curve (when it has one). */
export function traces(chart, runs) {
  const measured = runs.filter((r) => r.metrics[chart.key] != null);
  const out = [{
    type: "scatter", mode: "lines+markers", name: chart.key === "logit_gap" ? "measured (train)" : "measured",
    x: measured.map((r) => r.eps), y: measured.map((r) => r.metrics[chart.key]),
    line: { color: MEASURED, width: 3 }, marker: { size: 10, color: MEASURED },
    hovertemplate: `ε = %{x}<br>${chart.y} = %{y:.4f}<extra></extra>`,
  }];
  if (chart.theory && runs.length) {
    const k = classCount(runs);
    const hi = Math.max(...runs.map((r) => r.eps), 0.05);
    const positive = runs.map((r) => r.eps).filter((e) => e > 0);
    const lo = chart.key === "logit_gap" ? Math.min(0.01, ...positive) : 0; // the optimal gap is infinite at 0
    const x = grid(lo, hi);
    out.push({
      type: "scatter", mode: "lines", name: `${chart.theory}, K = ${k}`, x, y: x.map((e) => chart.curve(e, k)),
      line: { color: THEORY, width: 2.5, dash: "dash" }, hoverinfo: "skip",
    });
  }
  return out;
}

/** Draw every chart for the runs of the latest frame (ε axis up to the sweep's largest ε). */
export function drawCharts(runs, epsList) {
  const maxEps = epsList.length ? Math.max(...epsList) : 0.5;
  for (const chart of Object.values(CHARTS)) react(document.getElementById(chart.id), traces(chart, runs), layout(chart, maxEps));
}

const fmt = (v, digits = 3) => (v == null ? "–" : Number(v).toFixed(digits));

/** The table of current values, one row per ε. */
export function drawTable(table, runs) {
  const body = table.tBodies[0];
  if (!runs.length) {
    body.innerHTML = '<tr><td colspan="8" class="empty">waiting for the first frame…</td></tr>';
    return;
  }
  body.replaceChildren(...runs.map((run) => {
    const tr = document.createElement("tr");
    for (const key of COLUMNS) {
      const td = document.createElement("td");
      td.textContent = key === "eps" ? String(run.eps) : fmt(run.metrics[key]);
      tr.append(td);
    }
    return tr;
  }));
}

/** The current sweep table as CSV text (one row per ε, the metrics of the latest frame). */
export function sweepCsv(runs, step) {
  return toCsv(CSV_COLUMNS, runs.map((run) => CSV_COLUMNS.map((c) => (c === "eps" ? run.eps : c === "step" ? step : run.metrics[c]))));
}
