/** The distillation lab page (/distill): teachers (ε = 0 and ε), then their students, streamed live over /ws.

The page asks for a `distill` session when the server says hello; the server's state messages are the settings
the form shows, and frames are drawn at most every RENDER_MS (docs/protocol.md, `distill`). A lesson's step may set
the lab and play it (lib/lessonpanel.js).
*/

import { $, readBoot, setText } from "../lib/dom.js";
import { distillStep } from "../lib/lesson.js";
import { LessonPanel } from "../lib/lessonpanel.js";
import { applyLimits, checkValue, describeLimit } from "../lib/limits.js";
import { NO_PLOTLY, whenPlotly } from "../lib/plots.js";
import { Session, closeKind, closeReason } from "../lib/socket.js";
import { drawBars, drawLegend, drawLines, drawPlane } from "./charts.js";
import { History, RUNS, distillMessage, phaseView } from "./view.js";

const BOOT = readBoot();
const LIMITS = BOOT.limits;
const DISPLAY_POINTS = 150; // 50 per class on each of the four planes
const RENDER_MS = 120;
const LIVE_MS = 100; // T and α are sent at most this often while a slider moves
const START = { similarity: 0.5 }; // the blog's poodles: classes 0 and 1 close together

/** The form's inputs by setting name, with how each is read. */
const INPUTS = {
  dataset: { id: "dataset", text: true }, similarity: { id: "similarity" }, seed: { id: "seed", integer: true },
  eps: { id: "eps" }, lr: { id: "lr" }, speed: { id: "speed", integer: true }, temperature: { id: "temperature" },
  alpha: { id: "alpha" }, teacher_steps: { id: "teacher-steps", integer: true },
  student_steps: { id: "student-steps", integer: true }, student_hidden: { id: "student-hidden", integer: true },
  student_penultimate: { id: "student-penultimate", integer: true },
};
const OUTPUTS = { eps: "eps-out", temperature: "t-out", alpha: "alpha-out", similarity: "similarity-out" };

const state = {
  form: null, // the settings the server confirmed last (state message), as the form shows them
  frame: null, // the latest distill frame
  playing: false,
  phase: null,
  accepting: false, // frames belong to the page's lab once the state of its distill control has arrived
  plotly: false,
  renderTimer: null,
  lastRender: 0,
  liveTimer: null,
  classNames: ["class 0", "class 1", "class 2"],
  pendingEps: null, // an ε chosen after the teachers finished: it waits for a restart
  hidden: {}, // run settings a lesson's step set that the form has no box for
  step: null, // a lesson's step that came before the session: {form, play}, applied at hello
};
const history = new History();
const views = RUNS.map(() => ({ radius: null }));

// ---- the socket ---------------------------------------------------------------------------------

const socket = new Session({
  onHello() {
    // a fresh session on the server: the lab the form shows (or, the first time, the lab's defaults)
    if (state.step) return startStep();
    startLab(state.form ? distillMessage(state.form, DISPLAY_POINTS, state.hidden) : { type: "distill", config: { ...START, display_points: DISPLAY_POINTS } });
    socket.send({ type: "set", speed: readNumber("speed") ?? 20 });
    return undefined;
  },
  onFrame(frame) {
    if (!state.accepting || frame.header.mode !== "distill") return;
    state.frame = frame;
    state.playing = frame.header.playing;
    state.phase = frame.header.distill.phase;
    history.add(frame.header);
    scheduleRender();
  },
  onText(msg) {
    if (msg.type === "lesson") {
      lesson.receive(msg);
    } else if (msg.type === "state") {
      if (msg.mode !== "distill") return;
      state.accepting = true;
      state.playing = msg.playing;
      state.phase = msg.distill.phase;
      state.form = { ...msg.config, ...msg.distill, eps: msg.eps, lr: msg.lr, speed: msg.speed };
      state.classNames = msg.class_names;
      fillForm(state.form);
      updateButtons();
    } else if (msg.type === "error" && !lesson.failed(msg.message)) {
      showError(msg.message);
    }
  },
  onConnection(conn, reason, event) {
    if (conn === "connecting") setConn("connecting", "connecting…");
    else if (conn === "open") setConn("open", "connected");
    else {
      lesson.disconnected();
      state.accepting = false;
      state.playing = false;
      updateButtons();
      if (conn === "reconnecting") setConn("reconnecting", "reconnecting…");
      else {
        setConn("closed", "disconnected");
        const words = closeKind(event ? event.code : 0) === "lost" ? "Lost the connection to the server; reload to start again."
          : closeReason(event.code, reason);
        showError(words);
      }
    }
  },
}, { reconnect: true });

// ---- a lesson ----------------------------------------------------------------------------------

/** The lab fields the `distill` control sends itself (the rest of a step's config goes as `hidden`). */
const SENT = ["dataset", "similarity", "seed", "eps", "lr", "temperature", "alpha", "teacher_steps", "student_steps",
  "student_hidden", "student_penultimate"];

/** Put the lab in a lesson step's settings: at once when the session is there, else when it says hello. */
function applyStep(settings) {
  state.step = distillStep(settings);
  if (socket.ready && state.form) startStep();
}

/** Start the lab of the step waiting (state.step): the form's values with the step's on top, then play or pause. */
function startStep() {
  const { form, play } = state.step;
  state.step = null;
  state.pendingEps = null;
  $("eps-hint").hidden = true;
  state.hidden = Object.fromEntries(Object.entries(form).filter(([name]) => !SENT.includes(name)));
  // the lab's defaults under the step (T, α and the phases' lengths as the form has them; before the first state
  // they are left out of the message, and the server's defaults hold)
  const lab = { ...(state.form || {}), ...BOOT.defaults, ...START, ...form };
  if (state.form) fillForm(lab);
  startLab(distillMessage(lab, DISPLAY_POINTS, state.hidden));
  socket.send({ type: "set", speed: readNumber("speed") ?? 20 });
  socket.send({ type: play ? "play" : "pause" });
}

const lesson = new LessonPanel({ apply: applyStep, send: (message) => socket.send(message) });

function startLab(message) {
  state.accepting = false;
  state.frame = null;
  history.clear();
  for (const view of views) view.radius = null;
  socket.send(message);
}

// ---- the form -----------------------------------------------------------------------------------

function readNumber(name) {
  const spec = INPUTS[name];
  const value = Number($(spec.id).value);
  return Number.isFinite(value) ? (spec.integer ? Math.trunc(value) : value) : null;
}

/** The form's values, or null (with the reason shown) when one is outside the server's limits. */
function readForm() {
  const out = { ...state.form };
  for (const [name, spec] of Object.entries(INPUTS)) {
    if (spec.text) {
      out[name] = $(spec.id).value;
      continue;
    }
    const value = readNumber(name);
    const limit = LIMITS.fields[name];
    const problem = checkValue(limit, value);
    if (problem) {
      showError(`${name.replace("_", " ")}: ${problem}`);
      return null;
    }
    out[name] = value;
  }
  return out;
}

function fillForm(form) {
  for (const [name, spec] of Object.entries(INPUTS)) {
    const el = $(spec.id);
    if (form[name] === undefined || form[name] === null || el === document.activeElement) continue;
    el.value = String(name === "eps" && state.pendingEps !== null ? state.pendingEps : form[name]);
  }
  showOutputs();
}

function showOutputs() {
  for (const [name, id] of Object.entries(OUTPUTS)) setText($(id), $(INPUTS[name].id).value);
}

function restart() {
  const form = readForm();
  if (!form) return;
  $("distill-error").hidden = true;
  state.pendingEps = null;
  $("eps-hint").hidden = true;
  startLab(distillMessage(form, DISPLAY_POINTS));
}

/** T and α while a slider moves: at most one `set` per LIVE_MS. */
function sendLive() {
  if (state.liveTimer !== null) return;
  state.liveTimer = setTimeout(() => {
    state.liveTimer = null;
    socket.send({ type: "set", temperature: readNumber("temperature"), alpha: readNumber("alpha") });
  }, LIVE_MS);
}

function changeEps() {
  if (state.phase === "teachers") {
    socket.send({ type: "set", eps: readNumber("eps") });
    return;
  }
  state.pendingEps = readNumber("eps");
  const hint = $("eps-hint");
  hint.textContent = `The teachers have finished: ↻ restart to train them with ε = ${$("eps").value}.`;
  hint.hidden = false;
}

function togglePlay() {
  if (state.playing) {
    socket.send({ type: "pause" });
    return;
  }
  if (state.phase === "done") restart();
  socket.send({ type: "play" });
}

function updateButtons() {
  const live = socket.ready && state.accepting;
  $("play").disabled = !live;
  $("restart").disabled = !live;
  $("play").textContent = state.playing ? "❚❚ pause" : state.phase === "done" ? "▶ play again" : "▶ play";
  $("play").classList.toggle("playing", state.playing);
  $("play").setAttribute("aria-pressed", String(state.playing));
  if (live) setConn(state.playing ? "live" : "paused", state.playing ? "training" : "paused");
}

function showError(message) {
  $("distill-error-text").textContent = message;
  $("distill-error").hidden = false;
}

function setConn(kind, text) {
  $("status-conn").dataset.state = kind;
  setText($("status-conn"), text);
}

// ---- drawing ------------------------------------------------------------------------------------

function scheduleRender() {
  if (state.renderTimer !== null) return;
  const wait = Math.max(0, RENDER_MS - (performance.now() - state.lastRender));
  state.renderTimer = setTimeout(() => requestAnimationFrame(render), wait);
}

function render() {
  state.renderTimer = null;
  state.lastRender = performance.now();
  const frame = state.frame;
  if (!frame) return;
  const d = frame.header.distill;
  const phase = phaseView(d);
  setText($("status-step"), frame.step);
  setText($("status-phase"), phase.label);
  setText($("status-t"), d.temperature);
  setText($("status-rate"), frame.header.playing ? Math.round(frame.header.steps_per_s ?? 0) : 0);
  setText($("phase-hint"), phase.hint);
  document.querySelector(".phases").dataset.phase = phase.phase;
  $("phase-teachers").style.setProperty("--done", String(phase.teachers));
  $("phase-students").style.setProperty("--done", String(phase.students));
  for (const name of RUNS) {
    const eps = frame.runs[name].eps;
    setText(document.querySelector(`[data-sub="${name}"]`), name.startsWith("teacher") ? `ε = ${eps}` : `of the ε = ${eps} teacher`);
  }
  updateButtons();
  if (!state.plotly) return;
  RUNS.forEach((name, i) => drawPlane($(`plane-${i}`), frame, name, d.point.display_index, views[i]));
  setText($("bars-note"), drawBars($("bars"), frame, state.classNames));
  drawLines($("share-chart"), history, "similar_share", frame, { half: true, yaxis: { range: [0, 1.02], dtick: 0.25 } });
  drawLines($("acc-chart"), history, "val_acc", frame, { yaxis: { rangemode: "tozero" } });
  drawLines($("nll-chart"), history, "val_nll", frame, { yaxis: { rangemode: "tozero" } });
  drawLines($("ece-chart"), history, "ece", frame, { yaxis: { rangemode: "tozero" } });
}

// ---- start --------------------------------------------------------------------------------------

function init() {
  applyLimits(document, LIMITS);
  $("eps").max = String(Math.min(0.5, LIMITS.fields.eps.max));
  drawLegend($("legend"));
  $("play").addEventListener("click", togglePlay);
  $("restart").addEventListener("click", restart);
  $("distill-error-close").addEventListener("click", () => { $("distill-error").hidden = true; });
  for (const el of document.querySelectorAll("[data-restart]")) el.addEventListener("change", restart);
  for (const id of ["eps", "temperature", "alpha", "similarity"]) $(id).addEventListener("input", showOutputs);
  $("eps").addEventListener("change", changeEps);
  $("temperature").addEventListener("input", sendLive);
  $("alpha").addEventListener("input", sendLive);
  $("speed").addEventListener("change", () => {
    const speed = readNumber("speed");
    if (checkValue(LIMITS.fields.speed, speed)) showError(`steps per frame: enter ${describeLimit(LIMITS.fields.speed)}`);
    else socket.send({ type: "set", speed });
  });
  $("lr").addEventListener("change", () => {
    const lr = readNumber("lr");
    if (checkValue(LIMITS.fields.lr, lr)) showError(`learning rate: enter ${describeLimit(LIMITS.fields.lr)}`);
    else socket.send({ type: "set", lr });
  });
  socket.connect();
  lesson.start();
  whenPlotly(() => {
    state.plotly = true;
    scheduleRender();
  }, () => showError(NO_PLOTLY));
}

init();
