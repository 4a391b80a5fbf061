/** The drawing loop: the template planes at the display's refresh rate, the other charts taking turns.

Each server frame is a target the planes' points move to over one frame period (plane.js): the
painter (painter.js, in a worker where the browser allows) redraws the point layers on every display
frame while they move, whatever the server's frame rate, and not at all while nothing moves. The
page's own animation ticks run when a frame arrives or a chart is due: they keep each plane's axes
and view up to date and draw at most one other chart, round-robin, each no more often than its
interval and only when its data changed (a Plotly call costs 10–40 ms in software-rendered Chromium,
docs/performance.md): the line charts and the calibration bars follow the all-point metrics (measured
on every few frames, see MetricHistory), the decision regions their own frames. The planes draw
their first frame before Plotly.js has loaded; the charts wait for it (plotlyReady()).
*/

import { $ } from "../lib/dom.js";
import { drawConfidence, drawReliability, drawTargets } from "./bars.js";
import { makeLineCharts } from "./charts.js";
import { FramePeriod } from "./motion.js";
import { makePainter } from "./painter.js";
import { TemplatePlane } from "./plane.js";
import { readouts } from "./readouts.js";
import { drawInputPoints, paintRegions } from "./regions.js";

const LINE_CHART_MS = 1_000; // each line chart appends its new points at most this often
const BARS_MS = 1_500; // confidence histogram and reliability diagram
const INPUT_MS = 300; // the input-space charts' points (once per run) and titles (when ε changes)
const READOUT_MS = 250;
const CURSOR_MS = 150; // the timeline's cursor on the line charts (one relayout each)
const FIRST_FRAME_WAIT_MS = 1_000; // after start, the charts wait this long for the first frame to be drawn
// (its message may still be queued behind Plotly.js's parse: the planes come first)
const RATE_WINDOW_MS = 1_000; // frames received are counted over the last second
const TASK_POLL_MS = 100; // a tick is asked for this often, for the charts that are due
const RUNS = ["baseline", "smoothed"];
const DEFAULT_NAMES = ["class 0", "class 1", "class 2"];

export class Renderer {
  /** large: the projector view (?present=1): larger text in the charts and on the planes; paintInWorker:
  false paints the planes on the main thread (`?paint=main`). */
  constructor({ large = false, paintInWorker = true } = {}) {
    this.planes = Object.fromEntries(RUNS.map((run) => [run, new TemplatePlane($(`panel-${run}`), run, { large })]));
    for (const plane of Object.values(this.planes)) plane.onRedraw = () => this.requestTick();
    const canvases = () => Object.fromEntries(RUNS.map((run) => [run, this.planes[run].canvas]));
    const paintHere = () => {
      for (const plane of Object.values(this.planes)) plane.canvas = plane.newCanvas();
      this.usePainter(makePainter(canvases(), { inWorker: false }));
    };
    this.usePainter(makePainter(canvases(), { inWorker: paintInWorker, onFail: paintHere }));
    this.charts = makeLineCharts({ large });
    this.sameScale = false;
    this.started = false;
    this.plotly = false; // Plotly.js has loaded: the charts may draw
    this.onFirstView = null; // called once, when both planes have a view (their first frame can be drawn)
    this.latest = null; // newest frame received
    this.tickPending = false;
    this.period = new FramePeriod();
    this.measured = null; // newest frame with a new measurement of the all-point metrics
    this.regions = null; // newest frame that carries decision regions
    this.classNames = DEFAULT_NAMES;
    this.eps = null; // ε the targets chart should show
    this.receiveTimes = []; // when frames arrived (the status bar's frames received per second)
    this.cursor = 0;
    this.shown = {}; // what each task last drew
    this.past = null; // a frame of the history the timeline shows (null: the newest, live)
    this.liveMeasured = null; // newest measured frame and region frame, while the timeline shows the past
    this.liveRegions = null;
    this.cursorStep = null; // the step the line charts mark (the timeline's), or null
    const inputVisible = () => !$("input-panel").hidden;
    const task = (name, every, dirty, run, cheap = false) => ({ name, every, dirty, run, cheap, last: -Infinity });
    this.tasks = [
      ...Object.entries(this.charts).map(([name, chart]) => task(name, LINE_CHART_MS, () => chart.dirty, () => chart.draw())),
      task("targets", 0, () => this.eps !== null && `${this.eps}|${this.classNames}` !== this.shown.targets, () => {
        this.shown.targets = `${this.eps}|${this.classNames}`;
        drawTargets($("targets-chart"), this.eps, this.classNames);
      }),
      task("cursor", CURSOR_MS, () => (this.cursorStep ?? null) !== (this.shown.cursor ?? null), () => {
        this.shown.cursor = this.cursorStep;
        for (const chart of Object.values(this.charts)) chart.setCursor(this.cursorStep);
      }),
      task("confidence", BARS_MS, () => this.measured && this.measured !== this.shown.confidence, () => {
        this.shown.confidence = this.measured;
        drawConfidence($("confidence-chart"), this.measured);
      }),
      task("reliability", BARS_MS, () => this.measured && this.measured !== this.shown.reliability, () => {
        this.shown.reliability = this.measured;
        drawReliability($("reliability-chart"), this.measured);
      }),
      ...RUNS.map((run) => task(`input-${run}`, INPUT_MS,
        () => this.regions && inputVisible() && this.inputKey(run) !== this.shown[`input-${run}`],
        () => {
          this.shown[`input-${run}`] = this.inputKey(run);
          drawInputPoints($(`input-${run}`), this.regions, run, this.runEps(run));
        })),
      // cheap ones: they run in any tick, besides the one expensive task
      task("regions", 0, () => this.regions && inputVisible() && this.regions !== this.shown.regions, () => {
        this.shown.regions = this.regions;
        for (const run of RUNS) paintRegions($(`input-${run}`), this.regions, run);
      }, true),
      task("readouts", READOUT_MS, () => this.measured && this.measured !== this.shown.readouts, () => {
        this.shown.readouts = this.measured;
        readouts(this.measured);
      }, true),
    ];
    this.expensive = this.tasks.filter((t) => !t.cheap);
    this.cheap = this.tasks.filter((t) => t.cheap);
  }

  /** Plotly.js has loaded: the charts draw from the next tick on, the planes get their axes. */
  plotlyReady() {
    this.plotly = true;
  }

  /** Paint the planes with this painter (a worker's, or the main thread's when the worker cannot run). */
  usePainter(painter) {
    this.painter = painter;
    for (const plane of Object.values(this.planes)) plane.attach(painter);
    if (this.started) this.requestTick();
  }

  /** Start ticking (the planes draw without Plotly; the charts wait for plotlyReady()). */
  start() {
    if (this.started) return;
    this.started = true;
    this.startedAt = performance.now();
    setInterval(() => {
      const now = performance.now();
      if (this.plotly && this.tasks.some((t) => now - t.last >= t.every && t.dirty())) this.requestTick();
    }, TASK_POLL_MS);
    this.requestTick();
  }

  /** One tick on the next animation frame (once, however often it is asked for). */
  requestTick() {
    if (this.tickPending) return;
    this.tickPending = true;
    requestAnimationFrame((now) => {
      this.tickPending = false;
      this.tick(now);
    });
  }

  /** A new frame arrived. change: what it did to the history ("new" entry, "replaced" entry, or null). */
  push(frame, change, history, now = performance.now()) {
    this.receiveTimes.push(now);
    const playing = Boolean(frame.header && frame.header.playing);
    if (playing) this.period.arrive(now);
    else this.period.reset(); // paused, or one step: the panels show exactly this frame, at once
    const duration = playing ? this.period.ms : 0;
    if (!this.past) for (const plane of Object.values(this.planes)) plane.setTarget(frame, duration);
    if (change) {
      const entry = history.last;
      for (const chart of Object.values(this.charts)) {
        if (change === "new") chart.push([entry]);
        else chart.replaceLast(entry);
      }
      this.liveMeasured = frame;
    }
    this.latest = frame;
    if (hasRegions(frame)) this.liveRegions = frame;
    if (!this.past) {
      if (change) this.measured = frame;
      this.eps = frame.eps;
      if (hasRegions(frame)) this.regions = frame;
    }
    if (this.started) this.requestTick();
  }

  /** Show a frame of the history (the timeline): the planes jump there, the bars and read-outs show its
  measurement, the input space its regions (regionsFrame: the newest region frame at or before it), a
  cursor marks its step on the line charts. New frames still extend the charts. */
  showPast(frame, regionsFrame) {
    this.past = frame;
    for (const plane of Object.values(this.planes)) plane.setTarget(frame, 0);
    this.measured = frame;
    this.eps = frame.eps;
    if (regionsFrame) this.regions = regionsFrame;
    this.cursorStep = frame.step;
    if (this.started) this.requestTick();
  }

  /** Back to the newest frame (the timeline's "live"). */
  showLive() {
    if (!this.past) return;
    this.past = null;
    this.cursorStep = null;
    if (this.latest) {
      for (const plane of Object.values(this.planes)) plane.setTarget(this.latest, 0);
      this.eps = this.latest.eps;
    }
    this.measured = this.liveMeasured || this.measured;
    this.regions = this.liveRegions || this.regions;
    if (this.started) this.requestTick();
  }

  /** The frame the planes show: the timeline's, or the newest. */
  get shownFrame() {
    return this.past || this.latest;
  }

  /** Forget the run (after a reset): charts empty, panels rebuild on the next frame. */
  clear() {
    for (const chart of Object.values(this.charts)) chart.clear();
    for (const plane of Object.values(this.planes)) plane.clear();
    this.period.reset();
    this.latest = null;
    this.measured = null;
    this.regions = null;
    this.past = null;
    this.liveMeasured = null;
    this.liveRegions = null;
    this.cursorStep = null;
    this.shown = { targets: this.shown.targets, cursor: this.shown.cursor };
  }

  /** The classes' names (the server's hello and state messages): legends and labels. */
  setClassNames(names) {
    if (!Array.isArray(names) || names.length !== 3) return;
    this.classNames = names.map(String);
    names.forEach((name, k) => {
      for (const el of document.querySelectorAll(`[data-class-name="${k}"]`)) {
        if (el.textContent !== name) el.textContent = name;
      }
    });
  }

  /** The ε for the targets chart when no frame has come yet. */
  setEps(eps) {
    if (this.latest === null) this.eps = eps;
  }

  /** Frames drawn in the last second (a frame: one display frame in which the planes were redrawn). */
  get fps() {
    return this.painter.fps;
  }

  /** Frames received in the last second. */
  get rx() {
    return recent(this.receiveTimes, performance.now());
  }

  /** A run's ε in the newest frame. */
  runEps(run) {
    const f = this.latest || this.regions;
    return f && f.runs[run] ? f.runs[run].eps : 0;
  }

  /** What the input-space chart of a run shows besides the regions: the run's points and its title's ε. */
  inputKey(run) {
    const f = this.regions;
    return `${f.extent.join()}|${f.trueLabels.join("")}|${f.flipped.join("")}|${this.runEps(run)}`;
  }

  tick(now) {
    this.updatePlanes(now);
    if (this.painter.tick(now)) this.requestTick(); // painting on the main thread: every frame while moving
    if (this.receiveTimes.length > 400) this.receiveTimes.splice(0, 200);
    if (!this.plotly) return;
    if (this.painter.frames > 0 || now - this.startedAt > FIRST_FRAME_WAIT_MS) this.runOneTask(now);
    for (const task of this.cheap) {
      if (now - task.last >= task.every && task.dirty()) {
        task.last = now;
        task.run();
      }
    }
  }

  runOneTask(now) {
    const tasks = this.expensive;
    for (let k = 0; k < tasks.length; k++) {
      const task = tasks[(this.cursor + k) % tasks.length];
      if (now - task.last >= task.every && task.dirty()) {
        task.last = now;
        this.cursor = (this.cursor + k + 1) % tasks.length;
        task.run();
        return;
      }
    }
  }

  /** Each plane's view: its own half-width, or both panels' largest with the same-scale option. */
  updatePlanes(now) {
    const radius = {};
    for (const run of RUNS) radius[run] = this.planes[run].ease(now);
    const known = RUNS.map((run) => radius[run]).filter((r) => r !== null);
    const shared = known.length ? Math.max(...known) : null;
    for (const run of RUNS) this.planes[run].update(this.sameScale && radius[run] !== null ? shared : radius[run]);
    if (this.onFirstView && RUNS.every((run) => this.planes[run].view)) {
      const first = this.onFirstView;
      this.onFirstView = null; // the painter has all it needs for the first frame
      first();
    }
  }
}

/** True when a frame carries decision regions (and the inputs). */
function hasRegions(frame) {
  return Boolean(frame.extent && frame.runs.baseline && frame.runs.baseline.region_class);
}

/** How many of the times (ascending, ms) fall in the last second before `now`; older ones are dropped. */
function recent(times, now) {
  while (times.length && times[0] < now - RATE_WINDOW_MS) times.shift();
  return times.length;
}
