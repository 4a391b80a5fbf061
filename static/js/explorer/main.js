/** The explorer page: wires the socket, the controls, the URL state, the history and the renderer.

This module loads async, apart from Plotly.js (a deferred 1.5 MB script that takes most of a second to
parse here): the socket opens at once, and the template planes draw the first frame on their canvas
while Plotly loads; the axes and the charts follow once it is ready. `?present=1` is the projector
view (html.present in the stylesheet: the planes and two charts large, the controls in a slim bar).
*/

import { $, readBoot, setText } from "../lib/dom.js";
import { downloadPng, downloadText } from "../lib/download.js";
import { explorerStep } from "../lib/lesson.js";
import { LessonPanel } from "../lib/lessonpanel.js";
import { applyLimits } from "../lib/limits.js";
import { NO_PLOTLY, loadPlotly } from "../lib/plots.js";
import { Session } from "../lib/socket.js";
import { barLegends } from "./bars.js";
import { Controls, TWO_D, formatEps } from "./controls.js";
import { DatasetPanel } from "./dataset.js";
import { MetricHistory, measuredStep } from "./history.js";
import { Picker } from "./picker.js";
import { Renderer } from "./render.js";
import { runConfig, serverRunsOurs } from "./runstart.js";
import { Scrubber } from "./scrubber.js";
import { copyText } from "./share.js";
import { bindPresentControls, bindShortcuts } from "./shortcuts.js";
import { StatusBar } from "./status.js";
import { Timeline } from "./timeline.js";
import { FIELDS, MAX_AT, linkFor, readUrl, writeUrl } from "./urlstate.js";

const boot = readBoot();
applyLimits(document, boot.limits);
const start = readUrl(boot.defaults, boot.scenarios);
/** What the page asks for; the server's confirmations arrive as state messages and frames. */
const state = { settings: start.settings, scenario: start.scenario, hide: start.hide, play: start.play, present: start.present,
  data: start.data, hidden: {} }; // hidden: run settings a lesson's step set that no control shows (runstart.js)
document.documentElement.classList.toggle("present", state.present); // early.js did so already, unless it ran late
const scenarios = Object.fromEntries(boot.scenarios.map((s) => [s.key, s]));
let pendingAt = start.at; // `at=N`: fast-forward there once the first session is ready, then pause
if (pendingAt !== null) state.play = false;
let gotoTarget = null; // a goto under way (the server's state says so): the step it goes to

const status = new StatusBar();
const history = new MetricHistory();
const paintInWorker = new URLSearchParams(location.search).get("paint") !== "main"; // ?paint=main: for comparisons
const renderer = new Renderer({ large: state.present, paintInWorker });
const timeline = new Timeline(); // the run's frames (timeline.js: the last minute in full, thinned before, ≤ 50 MB)
let resyncControls = false; // after an error, show the settings the server kept
let awaitingState = false; // a reset was sent: frames of the old run may still come, until the server's state

// ---- what the page sends ------------------------------------------------------------------------

/** Rebuild the run on the server from the page's settings, then restore the live ones. */
function sendReset() {
  clearRun();
  const { eps, lr, speed, fps } = state.settings;
  const reset = state.settings.dataset === "csv" ? dataset.resetMessage(runConfig(state.settings, state.hidden)) : { type: "reset", config: runConfig(state.settings, state.hidden) };
  if (reset === null) return controls.setPlaying(false); // a link's CSV file: dataset.js asks for it
  if (socket.send(reset)) awaitingState = true;
  socket.send({ type: "set", eps, lr, speed, fps });
  socket.send({ type: state.play ? "play" : "pause" });
  controls.setPlaying(state.play);
}

/** A new session: reuse it (and the frame it sends right after hello) when it runs our settings, else reset it. */
function startSession(hello) {
  awaitingState = false;
  dataset.newSession();
  picker.close(false); // a new session follows no point
  if (!serverRunsOurs(hello, runConfig(state.settings, state.hidden))) {
    sendReset();
  } else {
    const { speed, fps } = state.settings;
    if (speed !== hello.speed || fps !== hello.fps) socket.send({ type: "set", speed, fps });
    if (state.play) socket.send({ type: "play" });
    controls.setPlaying(state.play);
  }
  if (pendingAt !== null && pendingAt > 0) {
    if (socket.send({ type: "goto", to: pendingAt })) showGoto(pendingAt);
  }
  pendingAt = null;
}

/** "fast-forwarding to step N…" while a goto is under way (null hides it). */
function showGoto(to) {
  gotoTarget = to;
  const note = $("goto-note");
  note.hidden = to === null;
  if (to !== null) setText(note, `fast-forwarding to step ${to.toLocaleString("en")}…`);
}

function saveUrl() {
  writeUrl(state);
}

/** Mark the active scenario and show what to look for (a hovered or focused button previews its own). */
function showScenario(preview = null) {
  for (const button of document.querySelectorAll("[data-scenario]")) {
    button.classList.toggle("active", button.dataset.scenario === state.scenario);
    button.setAttribute("aria-pressed", String(button.dataset.scenario === state.scenario));
  }
  const box = $("look-for");
  const s = scenarios[preview || state.scenario];
  box.hidden = !s;
  box.classList.toggle("preview", Boolean(preview) && preview !== state.scenario);
  if (!s) return;
  const title = document.createElement("b");
  title.textContent = `${s.title}. `;
  box.replaceChildren(title, document.createTextNode(s.look_for));
}

for (const button of document.querySelectorAll("[data-scenario]")) {
  const key = button.dataset.scenario;
  button.addEventListener("mouseenter", () => showScenario(key));
  button.addEventListener("focus", () => showScenario(key));
  button.addEventListener("mouseleave", () => showScenario());
  button.addEventListener("blur", () => showScenario());
}

function showInputPanel(name) {
  $("input-panel").hidden = !(TWO_D.has(name) || (name === "csv" && dataset.features === 2));
  dataset.showBox(name === "csv");
}

/** Your own data (explorer/dataset.js): a file or an example (fresh: play it), or another label or classes. */
const dataset = new DatasetPanel(boot.limits.csv, (fresh) => {
  if (fresh) state.play = true;
  controls.setValues({ dataset: "csv" });
  controls.handlers.onReset({ dataset: "csv" }, true);
});
dataset.fromLink(start.data);

const controls = new Controls(document.body, {
  onLive(changes) {
    Object.assign(state.settings, changes);
    socket.send({ type: "set", ...changes });
    saveUrl();
  },
  onReset(changes, ready = false) {
    if (changes.dataset === "csv" && !ready && !dataset.chosen()) return showInputPanel("csv"); // the file chooser
    const s = scenarios[state.scenario];
    if (s && Object.entries(changes).some(([k, v]) => k in s.config && s.config[k] !== v)) {
      state.scenario = null;
      showScenario();
    }
    Object.assign(state.settings, changes);
    showInputPanel(state.settings.dataset);
    sendReset();
    saveUrl();
  },
  onPlay() {
    state.play = !state.play;
    socket.send({ type: state.play ? "play" : "pause" });
    controls.setPlaying(state.play);
    saveUrl();
  },
  onStep(n) {
    socket.send({ type: "step", n });
  },
  onRestart() {
    sendReset();
  },
  onScenario(key) {
    const s = scenarios[key];
    state.scenario = key;
    state.hidden = Object.fromEntries(Object.keys(state.hidden).map((name) => [name, boot.defaults[name]])); // a lesson's, undone
    Object.assign(state.settings, s.config, { speed: s.speed });
    state.play = true;
    controls.setValues(state.settings);
    showScenario();
    showInputPanel(state.settings.dataset);
    sendReset();
    saveUrl();
  },
  onCopyLink() {
    const frame = renderer.shownFrame;
    const step = frame ? frame.step : 0;
    copyText(linkFor(state, step <= MAX_AT ? step : null), (words) => status.toast(words), step);
  },
  onHistoryKey(delta) {
    if (state.play && delta > 0 && !scrubber.past) return false; // playing, live: → steps
    if (state.play) return false;
    return scrubber.move(delta);
  },
  onExport(kind) {
    const stamp = `${dataset.stamp() || state.settings.dataset}-seed${state.settings.seed}`;
    if (kind === "csv") downloadText(history.toCSV(), `label-smoothing-${stamp}.csv`, "text/csv");
    else downloadText(history.toJSON({ ...state.settings, scenario: state.scenario, data: dataset.described() }), `label-smoothing-${stamp}.json`, "application/json");
  },
  onPng(id) {
    downloadPng(id);
  },
  onSameScale(on) {
    renderer.sameScale = on;
    renderer.requestTick();
  },
  onInvalid(message) {
    status.error(message);
  },
}, boot.limits.fields);

// ---- what the server sends ----------------------------------------------------------------------

/** Forget the run's history and pictures (a reset was sent, or the server's step went back). */
function clearRun() {
  history.clear();
  renderer.clear();
  timeline.clear();
  picker.close(false); // a reset lets go of the point (a new display subsample)
  scrubber.clear();
}

function onFrame(frame) {
  if (awaitingState) return; // the run before our reset
  const last = history.last;
  if (last && measuredStep(frame) < last.step) clearRun();
  renderer.push(frame, history.push(frame), history);
  timeline.push(frame, frame.retained, performance.now());
  if (gotoTarget !== null && frame.step >= gotoTarget) showGoto(null);
  if (!scrubber.past) picker.showInspected(frame);
  scrubber.show();
  setText(status.step, frame.step);
  setText(status.eps, formatEps(frame.eps));
  setText($("panel-eps"), formatEps(frame.eps));
  setText(status.steps, frame.header.playing ? Math.round(frame.header.steps_per_s || 0) : 0);
  status.diverged(frame.header.diverged);
}

function onText(msg) {
  if (msg.type === "lesson") {
    lesson.receive(msg);
  } else if (msg.type === "state") {
    awaitingState = false;
    if (msg.goto !== null && msg.goto !== undefined) showGoto(msg.goto);
    if (dataset.confirm(msg.data)) {
      state.data = dataset.data;
      saveUrl();
    }
    renderer.setClassNames(msg.class_names);
    setText(status.device, msg.device);
    setText(status.step, msg.step);
    status.diverged(msg.diverged);
    if (msg.playing !== state.play) {
      state.play = msg.playing;
      saveUrl();
    }
    controls.setPlaying(msg.playing);
    if (!msg.playing) setText(status.steps, 0);
    showInputPanel(msg.config.dataset);
    if (resyncControls) {
      resyncControls = false;
      Object.assign(state.settings, msg.config, { eps: msg.eps, lr: msg.lr, speed: msg.speed, fps: msg.fps });
      for (const name of Object.keys(state.settings)) if (!(name in FIELDS)) delete state.settings[name];
      controls.setValues(state.settings);
      saveUrl();
    }
  } else if (msg.type === "dataset") {
    dataset.answered(msg.summary);
  } else if (msg.type === "error") {
    if (lesson.failed(msg.message)) return;
    if (!dataset.failed(msg.message)) status.error(msg.message);
    if (gotoTarget !== null) showGoto(null);
    if (msg.code === "diverged") {
      status.diverged(msg.message);
      state.play = false;
      controls.setPlaying(false);
      saveUrl();
    } else {
      resyncControls = true;
    }
  }
}

const socket = new Session({
  onHello(hello) {
    setText(status.device, hello.device);
    renderer.setClassNames(hello.class_names);
    startSession(hello);
  },
  onFrame,
  onText,
  onConnection(conn, reason) {
    status.connection(conn, reason, () => socket.connect());
    if (conn !== "open" && conn !== "connecting") lesson.disconnected();
  },
}, { reconnect: true, adoptEarly: true });

// ---- a lesson: self-paced (?lesson=NAME&step=N) or paced by the host (lib/lessonpanel.js) ---------------

/** Put the page in a lesson step's run: its scenario, config and ε on top of the defaults, its speed, play or not. */
function applyStep(settings) {
  const step = explorerStep(settings, boot.defaults, boot.scenarios);
  state.scenario = step.scenario;
  for (const name of Object.keys(FIELDS)) if (step.config[name] !== undefined) state.settings[name] = step.config[name];
  state.settings.speed = step.speed;
  state.hidden = step.hidden;
  state.play = step.play;
  controls.setValues(state.settings);
  showScenario();
  showInputPanel(state.settings.dataset);
  sendReset();
  saveUrl();
}

const lesson = new LessonPanel({
  apply: applyStep,
  send: (message) => socket.send(message),
  roomEps(eps) { // the host spread ε over the room: the server has set it, the controls show it
    state.settings.eps = eps;
    controls.setValues({ eps });
    saveUrl();
  },
});

const picker = new Picker(renderer, (message) => socket.send(message));
const scrubber = new Scrubber(timeline, renderer, picker);

setInterval(() => {
  setText(status.fps, renderer.fps);
  setText(status.rx, renderer.rx);
}, 500);

// ---- start --------------------------------------------------------------------------------------

socket.connect(); // first: the server builds the session while the page sets up and Plotly.js loads
controls.setValues(state.settings);
controls.hide(state.hide);
controls.setPlaying(state.play);
showScenario();
showInputPanel(state.settings.dataset);
saveUrl();
barLegends();
renderer.setEps(state.settings.eps);
bindPresentControls();
picker.bind();
scrubber.bind();
bindShortcuts();
scrubber.show();
if (start.atError) status.error(start.atError);
renderer.start();
lesson.start();

/** Plotly.js (preloaded by the template) runs once the first frame has gone to the painter, or after a moment. */
const PLOTLY_WAIT_MS = 400;
let plotlyStarted = false;
function startPlotly() {
  if (plotlyStarted) return;
  plotlyStarted = true;
  loadPlotly($("plotly-preload").href).then(() => renderer.plotlyReady(), () => status.error(NO_PLOTLY));
}
renderer.onFirstView = () => setTimeout(startPlotly, 0);
setTimeout(startPlotly, PLOTLY_WAIT_MS);
