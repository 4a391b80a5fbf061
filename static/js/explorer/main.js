/** The explorer page: wires the socket, the controls, the URL state, the history and the renderer.

This module loads async, apart from Plotly.js (a deferred 1.5 MB script that takes most of a second to
parse here): the socket opens at once, and the template planes draw the first frame on their canvas
while Plotly loads; the axes and the charts follow once it is ready. `?present=1` is the projector
view (html.present in the stylesheet: the planes and two charts large, the controls in a slim bar).
*/

import { $, readBoot, setText } from "../lib/dom.js";
import { downloadPng, downloadText } from "../lib/download.js";
import { applyLimits } from "../lib/limits.js";
import { NO_PLOTLY, loadPlotly } from "../lib/plots.js";
import { Session } from "../lib/socket.js";
import { barLegends } from "./bars.js";
import { Controls, TWO_D, formatEps } from "./controls.js";
import { DatasetPanel } from "./dataset.js";
import { MetricHistory, measuredStep } from "./history.js";
import { Inspector, markInput, pickInput } from "./inspector.js";
import { Renderer } from "./render.js";
import { StatusBar } from "./status.js";
import { Timeline } from "./timeline.js";
import { FIELDS, MAX_AT, linkFor, readUrl, writeUrl } from "./urlstate.js";

const boot = readBoot();
applyLimits(document, boot.limits);
const start = readUrl(boot.defaults, boot.scenarios);
/** What the page asks for; the server's confirmations arrive as state messages and frames. */
const state = { settings: start.settings, scenario: start.scenario, hide: start.hide, play: start.play, present: start.present,
  data: start.data };
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
let pastEntry = null; // the timeline entry shown (null: live)
let replay = null; // {clock: history time shown, last: performance.now() of the last tick} while replaying
let resyncControls = false; // after an error, show the settings the server kept
let awaitingState = false; // a reset was sent: frames of the old run may still come, until the server's state

// ---- what the page sends ------------------------------------------------------------------------

/** The RunConfig fields of the current settings (a reset sends all of them: links reproduce runs). */
function runConfig() {
  const config = {};
  for (const [name, spec] of Object.entries(FIELDS)) {
    if ((spec.reset || name === "eps" || name === "lr") && state.settings[name] !== undefined) config[name] = state.settings[name];
  }
  return config;
}

/** Rebuild the run on the server from the page's settings, then restore the live ones. */
function sendReset() {
  clearRun();
  const { eps, lr, speed, fps } = state.settings;
  const reset = state.settings.dataset === "csv" ? dataset.resetMessage(runConfig()) : { type: "reset", config: runConfig() };
  if (reset === null) return controls.setPlaying(false); // a link's CSV file: dataset.js asks for it
  if (socket.send(reset)) awaitingState = true;
  socket.send({ type: "set", eps, lr, speed, fps });
  socket.send({ type: state.play ? "play" : "pause" });
  controls.setPlaying(state.play);
}

/** True when the session the server just opened already runs the page's settings (no reset needed). */
function serverRunsOurs(hello) {
  if (!hello || !hello.config || hello.mode !== "twin" || hello.diverged || hello.step !== 0) return false;
  return Object.entries(runConfig()).every(([name, value]) => {
    const theirs = name === "eps" ? hello.eps : name === "lr" ? hello.lr : hello.config[name];
    return theirs === value;
  });
}

/** A new session: reuse it (and the frame it sends right after hello) when it runs our settings, else reset it. */
function startSession(hello) {
  awaitingState = false;
  dataset.newSession();
  closeInspector(false); // a new session follows no point
  if (!serverRunsOurs(hello)) {
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
    copyText(linkFor(state, step <= MAX_AT ? step : null), step);
  },
  onHistoryKey(delta) {
    if (state.play && delta > 0 && !pastEntry) return false; // playing, live: → steps
    if (state.play) return false;
    return moveInHistory(delta);
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

/** Copy to the clipboard; where the browser refuses (plain http on a LAN), select it in a prompt box. */
function copyText(text, step = null) {
  const at = step !== null && step <= MAX_AT ? ` at step ${step.toLocaleString("en")}` : "";
  const done = () => status.toast(`Link copied: it reproduces this run${at} (same seed, same settings).`);
  const fallback = () => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    if (ok) done();
    else status.toast(`Copy this link: ${text}`);
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}

// ---- what the server sends ----------------------------------------------------------------------

/** Forget the run's history and pictures (a reset was sent, or the server's step went back). */
function clearRun() {
  history.clear();
  renderer.clear();
  timeline.clear();
  pastEntry = null;
  stopReplay();
  closeInspector(false); // a reset lets go of the point (a new display subsample)
  showTimeline();
}

function onFrame(frame) {
  if (awaitingState) return; // the run before our reset
  const last = history.last;
  if (last && measuredStep(frame) < last.step) clearRun();
  renderer.push(frame, history.push(frame), history);
  timeline.push(frame, frame.retained, performance.now());
  if (gotoTarget !== null && frame.step >= gotoTarget) showGoto(null);
  if (!pastEntry) showInspected(frame);
  showTimeline();
  setText(status.step, frame.step);
  setText(status.eps, formatEps(frame.eps));
  setText($("panel-eps"), formatEps(frame.eps));
  setText(status.steps, frame.header.playing ? Math.round(frame.header.steps_per_s || 0) : 0);
  status.diverged(frame.header.diverged);
}

function onText(msg) {
  if (msg.type === "state") {
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
  },
}, { reconnect: true, adoptEarly: true });

setInterval(() => {
  setText(status.fps, renderer.fps);
  setText(status.rx, renderer.rx);
}, 500);

/** The projector view's button that unfolds the full controls over the page (and folds them again). */
function bindPresentControls() {
  const button = $("more-controls");
  const aside = $("controls");
  const set = (open) => {
    aside.classList.toggle("open", open);
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => set(!aside.classList.contains("open")));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") set(false);
  });
}

// ---- the point inspector ------------------------------------------------------------------------

const inspector = new Inspector({ onClose: () => closeInspector() });

/** Follow display point `index` in every panel and the card. */
function openInspector(index) {
  inspector.open(index);
  socket.send({ type: "inspect", index });
  highlight(index);
  const frame = renderer.shownFrame;
  if (frame && frame.header.inspect) inspector.show(frame, renderer.classNames);
}

/** Close the card (send: tell the server to stop sending the point's numbers). */
function closeInspector(send = true) {
  if (inspector.index === null) return;
  inspector.close();
  if (send) socket.send({ type: "inspect", index: null });
  highlight(-1);
}

function highlight(index) {
  for (const plane of Object.values(renderer.planes)) plane.highlight(index);
  markInputs(index);
}

/** The inspected point's ring in the input-space charts (2-D datasets). */
function markInputs(index = inspector.index ?? -1) {
  for (const run of ["baseline", "smoothed"]) markInput($(`input-${run}`), renderer.regions, index);
}

function showInspected(frame) {
  if (inspector.index === null) return;
  inspector.show(frame, renderer.classNames);
  markInputs();
}

/** A click or tap on a point: inspect it (a second click on it closes the card). */
function pickAt(index) {
  if (index < 0) return;
  if (index === inspector.index) closeInspector();
  else openInspector(index);
}

const TAP_SLOP_PX = 6;

/** fn(clientX, clientY, touch) on a click or tap that starts on `el` and ends where it began. Not the click
event: Plotly's drag layer takes the mouse up (its cover over the page) and sends clicks of its own, one or
two per tap. A touch that turns into a scroll is cancelled. */
function onTap(el, fn) {
  let down = null;
  el.addEventListener("pointerdown", (e) => {
    down = e.isPrimary && e.button === 0 ? { id: e.pointerId, x: e.clientX, y: e.clientY } : null;
  });
  document.addEventListener("pointerup", (e) => {
    if (!down || e.pointerId !== down.id) return;
    const { x, y } = down;
    down = null;
    if (Math.hypot(e.clientX - x, e.clientY - y) <= TAP_SLOP_PX) fn(x, y, e.pointerType === "touch");
  }, true);
  document.addEventListener("pointercancel", () => {
    down = null;
  }, true);
}

function bindInspector() {
  for (const [run, plane] of Object.entries(renderer.planes)) {
    onTap(plane.el, (x, y, touch) => pickAt(plane.pick(x, y, touch ? 16 : 9)));
    plane.el.addEventListener("pointermove", (e) => {
      if (e.pointerType !== "mouse") return;
      const i = plane.pick(e.clientX, e.clientY, 9);
      inspector.hover(renderer.shownFrame, run, i, e.clientX, e.clientY, renderer.classNames);
      plane.el.style.cursor = i >= 0 ? "pointer" : "";
    });
    plane.el.addEventListener("pointerleave", () => inspector.hover(null, run, -1));
  }
  for (const run of ["baseline", "smoothed"]) {
    const chart = $(`input-${run}`);
    onTap(chart, (x, y, touch) => pickAt(pickInput(chart, renderer.regions, x, y, touch ? 16 : 9)));
    chart.addEventListener("pointermove", (e) => {
      if (e.pointerType !== "mouse") return;
      const i = pickInput(chart, renderer.regions, e.clientX, e.clientY, 9);
      inspector.hover(renderer.regions, run, i, e.clientX, e.clientY, renderer.classNames);
    });
    chart.addEventListener("pointerleave", () => inspector.hover(null, run, -1));
    if (chart.on) chart.on("plotly_afterplot", () => markInputs());
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeInspector();
  });
}

// ---- the timeline -------------------------------------------------------------------------------

/** The scrubber: over the steps in the history, at the newest while live. */
function showTimeline() {
  const slider = $("timeline");
  const first = timeline.at(0);
  const last = timeline.last;
  slider.min = String(first ? first.step : 0);
  slider.max = String(last ? last.step : 0);
  slider.disabled = timeline.length < 2;
  const shown = pastEntry || last;
  if (!pastEntry || document.activeElement !== slider) slider.value = String(shown ? shown.step : 0);
  setText($("timeline-step"), shown ? shown.step : 0);
  const live = $("timeline-live");
  live.setAttribute("aria-pressed", String(!pastEntry));
  live.classList.toggle("active", !pastEntry);
  $("timeline-bar").classList.toggle("past", Boolean(pastEntry));
}

/** Show timeline entry i (the newest: live again). */
function showEntry(i) {
  if (i < 0 || i >= timeline.length) return;
  if (i === timeline.length - 1) {
    goLive();
    return;
  }
  pastEntry = timeline.at(i);
  const regions = timeline.findBack(i, (f) => Boolean(f.extent && f.runs.baseline && f.runs.baseline.region_class));
  renderer.showPast(pastEntry.frame, regions ? regions.frame : null);
  if (inspector.index !== null) inspector.show(pastEntry.frame, renderer.classNames);
  showTimeline();
}

function goLive() {
  pastEntry = null;
  stopReplay();
  renderer.showLive();
  if (renderer.latest) showInspected(renderer.latest);
  showTimeline();
}

/** ← / →: an earlier or later frame of the history; true when it moved. */
function moveInHistory(delta) {
  if (!timeline.length) return false;
  const here = pastEntry ? timeline.indexAtStep(pastEntry.step) : timeline.length - 1;
  const to = Math.max(0, Math.min(timeline.length - 1, here + delta));
  if (delta > 0 && !pastEntry) return false; // live already: → steps
  stopReplay();
  showEntry(to);
  return true;
}

function stopReplay() {
  replay = null;
  const button = $("replay");
  button.textContent = "▶ replay";
  button.setAttribute("aria-pressed", "false");
}

/** ▶: replay the history from the frame shown (from the oldest when live) at the chosen speed. */
function startReplay() {
  if (timeline.length < 2) return;
  const from = pastEntry ? timeline.indexAtStep(pastEntry.step) : 0;
  showEntry(from);
  replay = { clock: timeline.at(from).time, last: performance.now() };
  const button = $("replay");
  button.textContent = "❚❚ replay";
  button.setAttribute("aria-pressed", "true");
  requestAnimationFrame(replayTick);
}

function replayTick(now) {
  if (!replay) return;
  const rate = Number($("replay-rate").value) || 1;
  replay.clock += (now - replay.last) * rate;
  replay.last = now;
  const i = timeline.indexAtTime(replay.clock);
  if (i >= timeline.length - 1) {
    goLive();
    return;
  }
  if (!pastEntry || timeline.at(i).step !== pastEntry.step) showEntry(i);
  requestAnimationFrame(replayTick);
}

function bindTimeline() {
  const slider = $("timeline");
  slider.addEventListener("input", () => {
    stopReplay();
    const step = Number(slider.value);
    const last = timeline.last;
    if (!last || step >= last.step) goLive();
    else showEntry(timeline.indexAtStep(step));
  });
  $("timeline-live").addEventListener("click", () => goLive());
  $("replay").addEventListener("click", () => (replay ? stopReplay() : startReplay()));
}

// ---- keyboard shortcuts -------------------------------------------------------------------------

function bindShortcuts() {
  const button = $("shortcuts");
  const box = $("shortcuts-box");
  const set = (open) => {
    box.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => set(box.hidden));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") set(false);
  });
  document.addEventListener("click", (e) => {
    if (!box.hidden && !box.contains(e.target) && e.target !== button) set(false);
  });
}

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
bindInspector();
bindTimeline();
bindShortcuts();
showTimeline();
if (start.atError) status.error(start.atError);
renderer.start();

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
