/** The ε sweep page: one model per ε, trained as one vectorized bank, streamed live and plotted against ε. A lesson's
step may fill the form and start the sweep (lib/lessonpanel.js); with a lesson the page connects at once. */

import { CsvFile } from "../lib/csvpick.js";
import { $, readBoot, setText } from "../lib/dom.js";
import { downloadText } from "../lib/download.js";
import { describeEps, parseEpsList, sameEps } from "../lib/epslist.js";
import { sweepStep } from "../lib/lesson.js";
import { LessonPanel } from "../lib/lessonpanel.js";
import { applyLimits } from "../lib/limits.js";
import { whenPlotly, NO_PLOTLY } from "../lib/plots.js";
import { Session, closeKind, closeReason } from "../lib/socket.js";
import { drawCharts, drawTable, sweepCsv } from "./charts.js";
import { aimFrom, approach } from "./stop.js";

const BOOT = readBoot();
const LIMITS = BOOT.limits;
const EPS_RULE = { maxModels: LIMITS.sweep_models, min: LIMITS.fields.eps.min, max: LIMITS.fields.eps.max };
const DISPLAY_POINTS = 30; // the sweep page plots metrics only: keep frames small
const RENDER_MS = 120; // redraw the charts at most this often

const state = {
  eps: [], // the ε list of the running sweep
  runs: [], // latest frame's runs
  step: 0,
  playing: false,
  target: null, // stop at this step: pause a few ticks early, then top up with a `step` control
  stopping: null, // aiming at the target (sweep/stop.js); null otherwise
  speed: 20,
  accepting: false, // frames belong to the current sweep once its state message has arrived
  renderTimer: null,
  lastRender: 0,
  plotly: false,
  hidden: {}, // run settings a lesson's step set that the form has no box for
};

/** A close event in a user's words; 1013 (explorer full) carries the server's own reason. */
function closeText(ev) {
  if (closeKind(ev.code) === "full") return closeReason(ev.code, ev.reason);
  if (ev.reason) return `Connection closed (code ${ev.code}): ${ev.reason}. Press start to run the sweep again.`;
  if (ev.code === 1006) return "Lost the connection to the server. Press start to connect again.";
  return `The connection closed (code ${ev.code}). Press start to connect again.`;
}

let opening = null; // {resolve, reject} while a connection waits for the server's hello

/** Your own data (lib/csvpick.js): sent when picked, so the summary shows before the sweep starts. */
const csv = new CsvFile($("csv-box"), LIMITS.csv, () => openSession().then(() => socket.send(csv.message(formConfig())),
  (err) => showError(err.message)));

const socket = new Session({
  onHello() {},
  onFrame({ header }) {
    if (!state.accepting || header.mode !== "sweep" || !sameEps(header.runs.map((r) => r.eps), state.eps)) return;
    Object.assign(state, { runs: header.runs, step: header.step, playing: header.playing });
    setText($("status-step"), header.step);
    setText($("status-rate"), header.playing ? Math.round(header.steps_per_s ?? 0) : 0);
    const next = approach(state, header, LIMITS.fields.step.max);
    state.stopping = next.stopping;
    if (next.send) socket.send(next.send);
    updateButtons();
    scheduleRender();
  },
  onText(msg) {
    if (msg.type === "lesson") {
      lesson.receive(msg);
    } else if (msg.type === "state") {
      if (msg.mode === "sweep" && sameEps(msg.sweep_eps, state.eps)) state.accepting = true;
      state.playing = msg.playing;
      updateButtons();
    } else if (msg.type === "dataset") {
      csv.answered(msg.summary);
    } else if (msg.type === "error") {
      if (lesson.failed(msg.message)) return;
      state.stopping = null;
      updateButtons();
      if (!csv.failed(msg.message)) showError(msg.message);
    }
  },
  onConnection(conn, reason, event) {
    if (conn === "connecting") {
      setConn("connecting", "connecting…");
    } else if (conn === "open") {
      csv.newSession();
      if (opening) opening.resolve();
      opening = null;
    } else if (opening) { // closed before the hello
      opening.reject(new Error(closeText(event)));
      opening = null;
    } else {
      lesson.disconnected();
      state.playing = false;
      state.accepting = false;
      setConn("closed", "disconnected");
      updateButtons();
      showError(closeText(event));
    }
  },
});

/** Resolves once a session is open and has said hello. */
function openSession() {
  if (socket.ready) return Promise.resolve();
  return new Promise((resolve, reject) => {
    opening = { resolve, reject };
    socket.connect();
  });
}

function showError(message) {
  $("sweep-error-text").textContent = message;
  $("sweep-error").hidden = false;
}

function setConn(kind, text) {
  $("status-conn").dataset.state = kind;
  setText($("status-conn"), text);
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
    ...state.hidden,
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
  if (event) event.preventDefault();
  $("sweep-error").hidden = true;
  let eps;
  try {
    eps = parseEpsList($("sweep-eps").value, EPS_RULE);
  } catch (err) {
    showError(err.message);
    return;
  }
  const target = $("sweep-steps").value.trim() === "" ? null : Math.trunc(Number($("sweep-steps").value));
  const speed = Math.trunc(Number($("sweep-speed").value));
  try {
    await openSession();
  } catch (err) {
    setConn("closed", "not connected");
    showError(err.message);
    return;
  }
  Object.assign(state, { eps, runs: [], step: 0, target, speed, accepting: false, stopping: aimFrom(0, target) });
  setText($("status-models"), eps.length);
  setText($("status-step"), 0);
  const file = $("sweep-dataset").value === "csv" && !csv.held ? csv.message(formConfig()) : false;
  if (file === null) return csv.picker.error("choose a CSV file first, or try an example");
  if (file) socket.send(file);
  socket.send({ type: "sweep", eps, config: formConfig() });
  socket.send({ type: "set", speed });
  socket.send({ type: "play" });
  $("sweep-start").textContent = "↻ restart sweep";
  render();
}

/** Pause, or resume (past the stop step when it has been reached). */
function togglePlay() {
  if (state.playing) {
    state.stopping = null;
    socket.send({ type: "pause" });
    return;
  }
  state.stopping = aimFrom(state.step, state.target);
  socket.send({ type: "play" });
}

function render() {
  state.renderTimer = null;
  state.lastRender = performance.now();
  if (!state.plotly) return;
  drawCharts(state.runs, state.eps);
  drawTable($("sweep-table"), state.runs);
}

function scheduleRender() {
  if (state.renderTimer !== null) return;
  const wait = Math.max(0, RENDER_MS - (performance.now() - state.lastRender));
  state.renderTimer = setTimeout(() => requestAnimationFrame(render), wait);
}

function previewEps() {
  const out = $("sweep-eps-preview");
  try {
    out.textContent = describeEps(parseEpsList($("sweep-eps").value, EPS_RULE));
    out.classList.remove("bad");
    $("sweep-eps").setCustomValidity("");
  } catch (err) {
    out.textContent = err.message;
    out.classList.add("bad");
    $("sweep-eps").setCustomValidity(err.message);
  }
}

// ---- a lesson ----------------------------------------------------------------------------------

/** The form's boxes for the run settings a step may set. */
const CONFIG_BOXES = { dataset: "sweep-dataset", similarity: "sweep-similarity", label_noise: "sweep-noise", seed: "sweep-seed" };

/** Put the form in a lesson step's settings (ε list, stop step, run settings) and start the sweep unless it says not to. */
function applyStep(settings) {
  const step = sweepStep(settings);
  if (step.eps !== null) $("sweep-eps").value = step.eps;
  if (step.steps !== null) $("sweep-steps").value = String(step.steps);
  const hidden = { ...step.config };
  for (const [name, id] of Object.entries(CONFIG_BOXES)) {
    if (name in hidden) $(id).value = String(hidden[name]);
    delete hidden[name];
  }
  if ("ordered" in hidden) $("sweep-ordered").checked = Boolean(hidden.ordered);
  for (const name of ["ordered", "display_points", "eps", "device"]) delete hidden[name];
  state.hidden = hidden;
  csv.showBox($("sweep-dataset").value === "csv");
  previewEps();
  if (step.play) start(null);
}

const lesson = new LessonPanel({ apply: applyStep, send: (message) => socket.send(message) });

function init() {
  applyLimits(document, LIMITS);
  const d = BOOT.defaults;
  $("sweep-dataset").value = d.dataset;
  $("sweep-similarity").value = d.similarity;
  $("sweep-noise").value = d.label_noise;
  $("sweep-ordered").checked = d.ordered;
  $("sweep-seed").value = d.seed;
  $("sweep-form").addEventListener("submit", start);
  $("sweep-play").addEventListener("click", togglePlay);
  $("sweep-csv").addEventListener("click", () => {
    downloadText(sweepCsv(state.runs, state.step), `label-smoothing-sweep-step${state.step}.csv`, "text/csv");
  });
  $("sweep-eps").addEventListener("input", previewEps);
  $("sweep-dataset").addEventListener("change", () => {
    csv.showBox($("sweep-dataset").value === "csv");
    if ($("sweep-dataset").value === "csv") csv.chosen();
  });
  $("sweep-error-close").addEventListener("click", () => { $("sweep-error").hidden = true; });
  previewEps();
  if (lesson.wantsRoom) openSession().catch((err) => showError(err.message));
  lesson.start();
  whenPlotly(() => {
    state.plotly = true;
    render();
  }, () => showError(NO_PLOTLY));
}

init();
