/** The point inspector: one training point's numbers for the one-hot and the smoothed run side by side.

The card reads a frame's `inspect` header (docs/protocol.md: logits, softmax, target, loss, distances to
the templates, norms, all from the frame's own forward pass) and shows the identity that ties the
template plane to the logits (blog §4):
z_k = w̃_k · x̃ = ½ (‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²): a larger logit means closer to template k, up to the
template's own norm. The hover tooltip (class, prediction, confidence) and the input-space marker live
here too. `inspectRows` is pure (tests/js/inspector.test.mjs).
*/

import { $ } from "../lib/dom.js";
import { CLASS_COLORS } from "../lib/plots.js";
import { formatEps } from "./controls.js";
import { rowTable } from "./dataset.js";

const SUB = ["₀", "₁", "₂"];
const RUNS = [["baseline", "one-hot"], ["smoothed", "smoothed"]];
const fix = (v, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(d));

/** Per class k: z_k, p_k, q'_k, ‖x̃ − w̃_k‖, ‖w̃_k‖² and ½(‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²), from one run's inspect entry. */
export function inspectRows(run) {
  return run.logits.map((z, k) => {
    const d = run.distances[k];
    const wsq = run.template_sq_norms[k];
    return { k, z, p: run.probs[k], q: run.target[k], d, wsq, half: 0.5 * (wsq + run.activation_sq_norm - d * d) };
  });
}

/** The class a run predicts for the point (argmax of its probabilities). */
export function predicted(run) {
  let best = 0;
  run.probs.forEach((p, k) => {
    if (p > run.probs[best]) best = k;
  });
  return best;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** A swatch and a class's name. */
function className(names, k) {
  const dot = el("i", { class: "dot", style: `background:${CLASS_COLORS[k]}` });
  return el("span", { class: "cls" }, dot, names[k]);
}

/** The 8 × 8 digit of a point's 64 input values, darkest where largest. */
function digitImage(x) {
  const canvas = el("canvas", { width: "8", height: "8", class: "digit", "data-testid": "inspect-digit", "aria-label": "the input digit, 8 × 8" });
  const ctx = canvas.getContext("2d");
  const lo = Math.min(...x);
  const hi = Math.max(...x);
  const image = ctx.createImageData(8, 8);
  x.forEach((v, i) => {
    const shade = Math.round(255 * (1 - (hi > lo ? (v - lo) / (hi - lo) : 0)));
    image.data.set([shade, shade, shade, 255], 4 * i);
  });
  ctx.putImageData(image, 0, 0);
  return canvas;
}

export class Inspector {
  /** onClose(): the card's close button (the page sends `inspect` null). */
  constructor({ onClose }) {
    this.card = $("inspector");
    this.body = $("inspector-body");
    this.title = $("inspector-title");
    this.tip = $("point-tip");
    this.index = null; // the point asked for
    $("inspector-close").addEventListener("click", () => onClose());
  }

  /** Open the card for display point `index` (its numbers come with the next frame). */
  open(index) {
    this.index = index;
    this.card.hidden = false;
    this.card.dataset.index = String(index);
    this.title.textContent = `point ${index}`;
    if (!this.body.childElementCount) this.body.replaceChildren(el("p", { class: "note", text: "waiting for the next frame…" }));
  }

  close() {
    this.index = null;
    this.card.hidden = true;
    delete this.card.dataset.index;
    delete this.card.dataset.step;
    this.body.replaceChildren();
  }

  /** Show a frame's inspect header (frame: the frame shown; names: the classes' names). */
  show(frame, names) {
    if (this.index === null) return;
    const info = frame.header.inspect;
    if (!info || info.index !== this.index) {
      if (this.card.dataset.step !== String(frame.step)) {
        this.card.dataset.step = String(frame.step);
        this.body.replaceChildren(el("p", { class: "note", text: `No numbers for point ${this.index} at step ${frame.step}: it was not inspected then.` }));
      }
      return;
    }
    const key = `${frame.step}|${frame.header.runs.map((r) => r.eps).join()}|${JSON.stringify(info.runs.baseline.logits)}`;
    if (this.shownKey === key && this.card.dataset.step === String(frame.step)) return;
    this.shownKey = key;
    this.card.dataset.step = String(frame.step);
    const flipped = info.flipped ? el("span", { class: "flip", text: " (flipped by label noise)" }) : "";
    const labels = el("p", { class: "labels" }, "true class ", className(names, info.true_label),
      " · trained as ", className(names, info.label), flipped, ` · step ${frame.step}`);
    const input = info.row ? rowTable(info.row) : el("div", { class: "inspect-input" }, el("span", { class: "muted", text: "input " }),
      info.x.length === 2
        ? el("b", { "data-testid": "inspect-x", text: `(${fix(info.x[0], 2)}, ${fix(info.x[1], 2)})` })
        : digitImage(info.x));
    const runs = el("div", { class: "inspect-runs" }, ...RUNS.map(([name, title]) => {
      const eps = (frame.header.runs.find((r) => r.name === name) || {}).eps;
      return this.runColumn(name, `${title} (ε = ${formatEps(eps)})`, info.runs[name], info.label, names);
    }));
    const note = el("p", { class: "note" }, "A larger logit z", el("sub", { text: "k" }),
      " means x̃ is closer to template w̃", el("sub", { text: "k" }), ", up to the template's own norm ‖w̃",
      el("sub", { text: "k" }), "‖²: x̃ = [activation, 1], w̃", el("sub", { text: "k" }), " = [w", el("sub", { text: "k" }),
      ", b", el("sub", { text: "k" }), "] (blog §4).");
    this.body.replaceChildren(labels, input, runs, note);
  }

  /** One run's table and identity. */
  runColumn(name, title, run, label, names) {
    const rows = inspectRows(run);
    const pred = predicted(run);
    const head = el("tr", {}, ...["class", "z_k", "p_k", "q′_k", "‖x̃ − w̃_k‖", "‖w̃_k‖²"].map((h) => el("th", { scope: "col", text: h })));
    const body = rows.map((r) => el("tr", { class: r.k === label ? "label" : "" },
      el("th", { scope: "row" }, className(names, r.k), r.k === pred ? el("small", { text: " predicted" }) : ""),
      el("td", { "data-testid": `inspect-${name}-z-${r.k}`, text: fix(r.z) }),
      el("td", { "data-testid": `inspect-${name}-p-${r.k}`, text: fix(r.p) }),
      el("td", { "data-testid": `inspect-${name}-q-${r.k}`, text: fix(r.q) }),
      el("td", { "data-testid": `inspect-${name}-d-${r.k}`, text: fix(r.d) }),
      el("td", { "data-testid": `inspect-${name}-wsq-${r.k}`, text: fix(r.wsq) })));
    const table = el("div", { class: "table-box" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
    const t = rows[label];
    const s = SUB[label] || label;
    const identity = el("p", { class: "identity", "data-testid": `inspect-${name}-identity` },
      `z${s} = w̃${s}·x̃ = ½(‖w̃${s}‖² + ‖x̃‖² − ‖x̃ − w̃${s}‖²) = ½(${fix(t.wsq)} + `,
      el("span", { "data-testid": `inspect-${name}-xsq`, text: fix(run.activation_sq_norm) }),
      ` − ${fix(t.d)}²) = ${fix(t.half)}`);
    const loss = el("p", { class: "loss" }, "loss −Σ q′_k log p_k = ",
      el("b", { "data-testid": `inspect-${name}-loss`, text: fix(run.loss, 4) }));
    return el("section", { class: `inspect-run ${name}`, "data-run": name },
      el("h3", { class: `run-name ${name}`, text: title }), table, identity, loss);
  }

  /** The hover tooltip at (clientX, clientY): class, prediction and confidence of display point i of a frame's
  run; i < 0 hides it. */
  hover(frame, runName, i, clientX, clientY, names) {
    const run = frame && frame.runs[runName];
    if (i < 0 || !run || !run.pred || !run.confidence) {
      this.tip.hidden = true;
      return;
    }
    const truth = frame.trueLabels[i];
    const label = frame.labels[i];
    const pred = run.pred[i];
    const parts = [`${names[truth]}${label !== truth ? ` (trained as ${names[label]})` : ""}`,
      `predicted ${names[pred]}${pred === truth ? "" : " ✗"}`, `confidence ${Math.round((100 * run.confidence[i]) / 255)}%`];
    this.tip.textContent = parts.join(" · ");
    this.tip.hidden = false;
    const w = this.tip.offsetWidth;
    const x = Math.min(clientX + 14, window.innerWidth - w - 6);
    this.tip.style.left = `${Math.max(6, x)}px`;
    this.tip.style.top = `${clientY + 16}px`;
  }
}

/** Display point nearest (clientX, clientY) in an input-space chart (2-D datasets), within maxPx: index or -1. */
export function pickInput(chart, frame, clientX, clientY, maxPx = 8) {
  const full = chart._fullLayout;
  if (!full || !full.xaxis || !frame || !frame.inputs) return -1;
  const box = chart.getBoundingClientRect();
  const x = clientX - box.left;
  const y = clientY - box.top;
  let best = -1;
  let bestD = maxPx * maxPx;
  const n = frame.trueLabels.length;
  for (let i = 0; i < n; i++) {
    const dx = full.xaxis._offset + full.xaxis.l2p(frame.inputs[2 * i]) - x;
    const dy = full.yaxis._offset + full.yaxis.l2p(frame.inputs[2 * i + 1]) - y;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** Ring display point i (-1: none) in an input-space chart: a small element over the chart's plot. */
export function markInput(chart, frame, i) {
  let mark = chart.querySelector(":scope > .pick-mark");
  const full = chart._fullLayout;
  if (i < 0 || !full || !full.xaxis || !frame || !frame.inputs || i >= frame.trueLabels.length) {
    if (mark) mark.hidden = true;
    return;
  }
  if (!mark) {
    mark = el("div", { class: "pick-mark", "aria-hidden": "true", "data-testid": `${chart.id}-pick` });
    chart.append(mark);
  }
  mark.hidden = false;
  mark.dataset.index = String(i);
  mark.style.left = `${full.xaxis._offset + full.xaxis.l2p(frame.inputs[2 * i])}px`;
  mark.style.top = `${full.yaxis._offset + full.yaxis.l2p(frame.inputs[2 * i + 1])}px`;
}
