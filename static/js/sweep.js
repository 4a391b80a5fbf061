/** The ε sweep page: one model per ε, trained as one vectorized bank, streamed live and plotted against ε. */

const $ = (id) => document.getElementById(id);
const PAGE = JSON.parse($("page-data").textContent);
const MAX_MODELS = 41; // app/schema.py MAX_SWEEP_MODELS
const DISPLAY_POINTS = 30; // the sweep page plots metrics only: keep frames small
const RENDER_MS = 120; // redraw the charts at most this often
const PING_MS = 60_000; // keep-alive while the page is visible (docs/protocol.md)
const COLUMNS = ["eps", "val_acc", "val_nll", "ece", "logit_gap", "optimal_logit_gap", "train_loss", "loss_floor"];
const CSV_COLUMNS = ["eps", "step", "train_acc", "val_acc", "val_nll", "val_loss", "ece", "mean_confidence",
  "logit_gap", "optimal_logit_gap", "train_loss", "loss_floor"];
const COLOR = "#1f5fbf";
const THEORY = "#222";

// ---- ε list ------------------------------------------------------------------------------------------

/** Parse "START:STOP:STEP" or "a, b, c" into sorted distinct ε values in [0, 1]; throws Error with a user message. */
export function parseEpsList(text) {
  const src = text.trim();
  if (!src) throw new Error("type ε values, e.g. 0:0.5:0.05 or 0, 0.1, 0.2");
  let values;
  if (src.includes(":")) {
    const parts = src.split(":").map((s) => s.trim());
    if (parts.length !== 3 || parts.some((s) => s === "" || !Number.isFinite(Number(s)))) {
      throw new Error("a range is START:STOP:STEP, three numbers, e.g. 0:0.5:0.05");
    }
    const [start, stop, step] = parts.map(Number);
    if (step <= 0) throw new Error("the STEP of a range must be above 0");
    if (stop < start) throw new Error("the STOP of a range must not be below its START");
    const count = Math.floor((stop - start) / step + 1e-9) + 1;
    if (count > MAX_MODELS) throw new Error(`that range gives ${count} values; at most ${MAX_MODELS}`);
    values = Array.from({ length: count }, (_, i) => Number((start + i * step).toFixed(10)));
  } else {
    const parts = src.split(/[\s,;]+/).filter(Boolean);
    const bad = parts.find((s) => !Number.isFinite(Number(s)));
    if (bad !== undefined) throw new Error(`“${bad}” is not a number`);
    values = parts.map(Number);
  }
  const out = [...new Set(values)].sort((a, b) => a - b);
  const outside = out.find((e) => e < 0 || e > 1);
  if (outside !== undefined) throw new Error(`ε must be between 0 and 1 (got ${outside})`);
  if (out.length > MAX_MODELS) throw new Error(`${out.length} values; at most ${MAX_MODELS}`);
  return out;
}

/** Short text for a list of ε values: "11 models: 0, 0.05, …, 0.5". */
function describeEps(values) {
  const shown = values.length <= 6 ? values.join(", ") : `${values.slice(0, 3).join(", ")}, …, ${values.at(-1)}`;
  return `${values.length} model${values.length === 1 ? "" : "s"}: ε = ${shown}`;
}

// ---- theory (SCIENCE.md §2) --------------------------------------------------------------------------

/** Optimal logit gap ln(1 + K(1 − ε)/ε); infinite at ε = 0. */
const optimalGap = (eps, k) => Math.log1p((k * (1 - eps)) / eps);

/** Loss floor: the entropy of q' = (1 − ε)·one-hot + ε/K. */
function lossFloor(eps, k) {
  const pTrue = 1 - eps + eps / k;
  const pWrong = eps / k;
  let h = pTrue > 0 && pTrue < 1 ? -pTrue * Math.log(pTrue) : 0;
  if (pWrong > 0) h -= (k - 1) * pWrong * Math.log(pWrong);
  return h;
}

/** K from the server's own optimal_logit_gap (K = (e^gap − 1)·ε/(1 − ε)); 3 for every dataset here. */
function classesFrom(runs) {
  for (const run of runs) {
    const { eps, optimal_logit_gap: gap } = run.metrics;
    if (gap != null && eps > 0 && eps < 1) return Math.round((Math.expm1(gap) * eps) / (1 - eps));
  }
  return 3;
}

/** A dense ε grid over [lo, hi] for the theory curves. */
function grid(lo, hi, n = 200) {
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

// ---- socket ------------------------------------------------------------------------------------------

const DECODER = new TextDecoder();

/** The JSON header of a binary frame: uint32 LE length H, then H bytes of UTF-8 JSON (docs/protocol.md). */
function frameHeader(buffer) {
  const length = new DataView(buffer).getUint32(0, true);
  return JSON.parse(DECODER.decode(new Uint8Array(buffer, 4, length)));
}

/** One WebSocket session at /ws; resolves `open()` once the server's hello has arrived. */
class SweepSocket {
  constructor({ onState, onFrame, onError, onClose }) {
    Object.assign(this, { onState, onFrame, onError, onClose });
    this.ws = null;
    this.ping = null;
  }

  get ready() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.helloSeen;
  }

  open() {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}/ws`);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      this.helloSeen = false;
      ws.onmessage = (ev) => {
        if (typeof ev.data !== "string") {
          this.onFrame(frameHeader(ev.data));
          return;
        }
        const msg = JSON.parse(ev.data);
        if (msg.type === "hello") {
          this.helloSeen = true;
          resolve();
        } else if (msg.type === "state") this.onState(msg);
        else if (msg.type === "error") this.onError(msg.message);
      };
      ws.onclose = (ev) => {
        clearInterval(this.ping);
        if (this.ws === ws) this.ws = null;
        if (!this.helloSeen) reject(new Error(closeText(ev)));
        else this.onClose(ev);
      };
      this.ping = setInterval(() => {
        if (document.visibilityState === "visible") this.send({ type: "ping" });
      }, PING_MS);
    });
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}

/** A close event in a user's words; 1013 (explorer full) and 1008 carry the server's own reason. */
function closeText(ev) {
  if (ev.code === 1013) return ev.reason || "The explorer is full. Try again in a minute.";
  if (ev.reason) return `Connection closed (code ${ev.code}): ${ev.reason}. Press start to run the sweep again.`;
  if (ev.code === 1006) return "Lost the connection to the server. Press start to connect again.";
  return `The connection closed (code ${ev.code}). Press start to connect again.`;
}

// ---- page state --------------------------------------------------------------------------------------

const state = {
  eps: [], // the ε list of the running sweep
  runs: [], // latest frame's runs
  step: 0,
  playing: false,
  target: null, // stop at this step: pause a few ticks early, then top up with a `step` control
  stopping: null, // aiming at the target: "playing", then "pausing", then "topping-up"; null otherwise
  speed: 20,
  accepting: false, // frames belong to the current sweep once its state message has arrived
  renderTimer: null,
  lastRender: 0,
};

const socket = new SweepSocket({
  onState(msg) {
    if (msg.mode === "sweep" && sameEps(msg.sweep_eps, state.eps)) state.accepting = true;
    state.playing = msg.playing;
    updateButtons();
  },
  onFrame(header) {
    if (!state.accepting || header.mode !== "sweep" || !sameEps(header.runs.map((r) => r.eps), state.eps)) return;
    state.runs = header.runs;
    state.step = header.step;
    state.playing = header.playing;
    $("status-step").textContent = String(header.step);
    $("status-rate").textContent = header.playing ? String(Math.round(header.steps_per_s ?? 0)) : "0";
    approachTarget(header);
    updateButtons();
    scheduleRender();
  },
  onError(message) {
    state.stopping = null;
    updateButtons();
    showError(message);
  },
  onClose(ev) {
    state.playing = false;
    state.accepting = false;
    setConn("closed", "disconnected");
    updateButtons();
    showError(closeText(ev));
  },
});

const sameEps = (a, b) => Array.isArray(a) && a.length === b.length && a.every((e, i) => Math.abs(e - b[i]) < 1e-9);

function showError(message) {
  $("sweep-error-text").textContent = message;
  $("sweep-error").hidden = false;
}

function setConn(kind, text) {
  $("status-conn").dataset.state = kind;
  $("status-conn").textContent = text;
}

function updateButtons() {
  const live = socket.ready && state.accepting;
  const training = state.playing || state.stopping === "pausing" || state.stopping === "topping-up";
  $("sweep-play").disabled = !live;
  $("sweep-play").textContent = training ? "❚❚ pause" : "▶ resume";
  $("sweep-play").setAttribute("aria-pressed", String(training));
  $("sweep-csv").disabled = state.runs.length === 0;
  if (live) setConn(training ? "live" : "paused", training ? "training" : "paused");
}

/** The RunConfig changes the form asks for (docs/protocol.md `sweep`). */
function formConfig() {
  const num = (id) => Number($(id).value);
  return {
    dataset: $("sweep-dataset").value,
    similarity: num("sweep-similarity"),
    label_noise: num("sweep-noise"),
    ordered: $("sweep-ordered").checked,
    seed: Math.trunc(num("sweep-seed")),
    display_points: DISPLAY_POINTS,
  };
}

/** Start (or restart) the sweep: connect if needed, send `sweep`, the speed, then `play`. */
async function start(event) {
  event.preventDefault();
  $("sweep-error").hidden = true;
  let eps;
  try {
    eps = parseEpsList($("sweep-eps").value);
  } catch (err) {
    showError(err.message);
    return;
  }
  const target = $("sweep-steps").value.trim() === "" ? null : Math.trunc(Number($("sweep-steps").value));
  const speed = Math.trunc(Number($("sweep-speed").value));
  setConn("connecting", "connecting…");
  try {
    await socket.open();
  } catch (err) {
    setConn("closed", "not connected");
    showError(err.message);
    return;
  }
  Object.assign(state, { eps, runs: [], step: 0, target, speed, accepting: false });
  state.stopping = target !== null && target > 0 ? "playing" : null;
  $("status-models").textContent = String(eps.length);
  $("status-step").textContent = "0";
  socket.send({ type: "sweep", eps, config: formConfig() });
  socket.send({ type: "set", speed });
  socket.send({ type: "play" });
  $("sweep-start").textContent = "↻ restart sweep";
  clearCharts();
}

/** Stop exactly at the target step: pause when the next few ticks would pass it, then step the rest. */
function approachTarget(header) {
  const remaining = state.target === null ? 0 : state.target - header.step;
  if (state.stopping === "playing" && header.playing && remaining <= Math.min(3 * state.speed, 1000)) {
    state.stopping = "pausing";
    socket.send({ type: "pause" });
  } else if (state.stopping === "pausing" && !header.playing) {
    state.stopping = remaining > 0 ? "topping-up" : null;
    if (remaining > 0) socket.send({ type: "step", n: Math.min(remaining, 1000) });
  } else if (state.stopping === "topping-up" && remaining <= 0) {
    state.stopping = null;
  }
}

/** Pause, or resume (past the stop step when it has been reached). */
function togglePlay() {
  if (state.playing) {
    state.stopping = null;
    socket.send({ type: "pause" });
    return;
  }
  state.stopping = state.target !== null && state.step < state.target ? "playing" : null;
  socket.send({ type: "play" });
}

// ---- charts ------------------------------------------------------------------------------------------

const CHARTS = {
  acc: { id: "chart-acc", title: "Validation accuracy", y: "accuracy", key: "val_acc", range: [0, 1.02] },
  nll: { id: "chart-nll", title: "Validation NLL (plain cross-entropy)", y: "NLL (nats)", key: "val_nll" },
  ece: { id: "chart-ece", title: "Calibration error (ECE, 15 bins)", y: "ECE", key: "ece" },
  gap: { id: "chart-gap", title: "Train logit gap vs theory", y: "logit gap", key: "logit_gap",
    theory: "ln(1 + K(1 − ε)/ε)" },
  loss: { id: "chart-loss", title: "Train loss vs loss floor", y: "smoothed loss (nats)", key: "train_loss",
    theory: "floor: entropy of q'", legendLow: true },
};

function layout(chart, maxEps) {
  const axisFont = { size: 15 };
  return {
    title: { text: chart.title, font: { size: 18 }, x: 0.02, xanchor: "left" },
    margin: { l: 62, r: 16, t: 44, b: 52 },
    font: { family: "system-ui, sans-serif", size: 15, color: "#111" },
    xaxis: { title: { text: "ε", font: axisFont }, range: [-0.02 * (maxEps || 0.5), (maxEps || 0.5) * 1.04],
      zeroline: false, gridcolor: "#e3e3e3" },
    yaxis: { title: { text: chart.y, font: axisFont }, gridcolor: "#e3e3e3", zeroline: false,
      ...(chart.range ? { range: chart.range } : { rangemode: "tozero" }) },
    showlegend: Boolean(chart.theory),
    legend: { x: 0.98, xanchor: "right", y: chart.legendLow ? 0.03 : 0.98, yanchor: chart.legendLow ? "bottom" : "top",
      bgcolor: "rgba(255,255,255,0.85)", font: { size: 15 } },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    hovermode: "closest",
  };
}

const CONFIG = { displayModeBar: false, responsive: true };

function traces(chart, runs) {
  const measured = runs.filter((r) => r.metrics[chart.key] != null);
  const out = [{
    type: "scatter", mode: "lines+markers", name: chart.key === "logit_gap" ? "measured (train)" : "measured",
    x: measured.map((r) => r.eps), y: measured.map((r) => r.metrics[chart.key]),
    line: { color: COLOR, width: 3 }, marker: { size: 10, color: COLOR },
    hovertemplate: `ε = %{x}<br>${chart.y} = %{y:.4f}<extra></extra>`,
  }];
  if (chart.theory && runs.length) {
    const k = classesFrom(runs);
    const hi = Math.max(...runs.map((r) => r.eps), 0.05);
    const positive = runs.map((r) => r.eps).filter((e) => e > 0);
    const lo = chart.key === "logit_gap" ? Math.min(0.01, ...positive) : 0;
    const x = grid(lo, hi);
    const y = x.map((e) => (chart.key === "logit_gap" ? optimalGap(e, k) : lossFloor(e, k)));
    out.push({
      type: "scatter", mode: "lines", name: `${chart.theory}, K = ${k}`, x, y,
      line: { color: THEORY, width: 2.5, dash: "dash" }, hoverinfo: "skip",
    });
  }
  return out;
}

function render() {
  state.renderTimer = null;
  state.lastRender = performance.now();
  if (!window.Plotly) return;
  const maxEps = state.eps.length ? Math.max(...state.eps) : 0.5;
  for (const chart of Object.values(CHARTS)) {
    window.Plotly.react(chart.id, traces(chart, state.runs), layout(chart, maxEps), CONFIG);
  }
  renderTable();
}

function scheduleRender() {
  if (state.renderTimer !== null) return;
  const wait = Math.max(0, RENDER_MS - (performance.now() - state.lastRender));
  state.renderTimer = setTimeout(() => requestAnimationFrame(render), wait);
}

function clearCharts() {
  state.runs = [];
  render();
}

const fmt = (v, digits = 3) => (v == null ? "–" : Number(v).toFixed(digits));

function renderTable() {
  const body = $("sweep-table").tBodies[0];
  if (!state.runs.length) {
    body.innerHTML = '<tr><td colspan="8" class="empty">waiting for the first frame…</td></tr>';
    return;
  }
  const rows = state.runs.map((run) => {
    const tr = document.createElement("tr");
    for (const key of COLUMNS) {
      const td = document.createElement("td");
      td.textContent = key === "eps" ? String(run.eps) : fmt(run.metrics[key]);
      tr.append(td);
    }
    return tr;
  });
  body.replaceChildren(...rows);
}

// ---- CSV ---------------------------------------------------------------------------------------------

/** The current sweep table as CSV text (one row per ε, the metrics of the latest frame). */
export function sweepCsv(runs, step) {
  const cell = (v) => (v == null ? "" : String(v));
  const lines = [CSV_COLUMNS.join(",")];
  for (const run of runs) {
    lines.push(CSV_COLUMNS.map((c) => (c === "eps" ? cell(run.eps) : c === "step" ? cell(step) : cell(run.metrics[c]))).join(","));
  }
  return lines.join("\n") + "\n";
}

function downloadCsv() {
  const blob = new Blob([sweepCsv(state.runs, state.step)], { type: "text/csv" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `label-smoothing-sweep-step${state.step}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- wiring ------------------------------------------------------------------------------------------

function previewEps() {
  const out = $("sweep-eps-preview");
  try {
    out.textContent = describeEps(parseEpsList($("sweep-eps").value));
    out.classList.remove("bad");
    $("sweep-eps").setCustomValidity("");
  } catch (err) {
    out.textContent = err.message;
    out.classList.add("bad");
    $("sweep-eps").setCustomValidity(err.message);
  }
}

function init() {
  const d = PAGE.defaults || {};
  if (d.dataset != null) $("sweep-dataset").value = d.dataset;
  if (d.similarity != null) $("sweep-similarity").value = d.similarity;
  if (d.label_noise != null) $("sweep-noise").value = d.label_noise;
  if (d.ordered != null) $("sweep-ordered").checked = d.ordered;
  if (d.seed != null) $("sweep-seed").value = d.seed;
  $("sweep-form").addEventListener("submit", start);
  $("sweep-play").addEventListener("click", togglePlay);
  $("sweep-csv").addEventListener("click", downloadCsv);
  $("sweep-eps").addEventListener("input", previewEps);
  $("sweep-error-close").addEventListener("click", () => { $("sweep-error").hidden = true; });
  previewEps();
  if (window.Plotly) render();
  else window.addEventListener("load", render, { once: true });
}

init();
