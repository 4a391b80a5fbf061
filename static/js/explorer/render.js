/** The drawing loop: the template planes show the newest frame only; the other charts take turns.

Each animation tick draws the two planes when a newer frame has arrived (the frames in between are
skipped) and nothing else expensive, unless no tick has been free for a while; a tick without a new
frame redraws at most one other chart, round-robin, each no more often than its interval and only
when its data changed: the line charts
and the calibration bars follow the all-point metrics (measured on every few frames, see
MetricHistory), the decision regions their own frames. A Plotly redraw of a chart costs 10–40 ms in
software-rendered Chromium (docs/performance.md), so one per tick keeps the planes on time. Nothing here
needs Plotly before start(): frames that arrive while Plotly.js is still loading are kept (the
newest one) and drawn on the first tick.
*/

import { $ } from "../lib/dom.js";
import { drawConfidence, drawReliability, drawTargets } from "./bars.js";
import { makeLineCharts } from "./charts.js";
import { TemplatePlane } from "./plane.js";
import { readouts } from "./readouts.js";
import { drawInputPoints, paintRegions } from "./regions.js";

const LINE_CHART_MS = 450; // each line chart appends its new points at most this often
const BARS_MS = 900; // confidence histogram and reliability diagram
const INPUT_MS = 300; // the input-space charts' points (once per run) and titles (when ε changes)
const READOUT_MS = 250;
const STARVE_MS = 400; // when frames come so fast that no tick is free, a tick that draws the planes also
// takes one chart once this long has passed without any (else the charts would stop at 30 frames/s)
const FIRST_FRAME_WAIT_MS = 1_000; // after start, the charts wait this long for the first frame to be drawn
// (its message may still be queued behind Plotly.js's parse: the planes come first)
const RUNS = ["baseline", "smoothed"];
const DEFAULT_NAMES = ["class 0", "class 1", "class 2"];

export class Renderer {
  constructor() {
    this.planes = Object.fromEntries(RUNS.map((run) => [run, new TemplatePlane($(`panel-${run}`), run)]));
    this.charts = makeLineCharts();
    this.sameScale = false;
    this.started = false;
    this.latest = null; // newest frame received
    this.drawn = null; // the frame the planes show
    this.measured = null; // newest frame with a new measurement of the all-point metrics
    this.regions = null; // newest frame that carries decision regions
    this.classNames = DEFAULT_NAMES;
    this.eps = null; // ε the targets chart should show
    this.drawTimes = [];
    this.cursor = 0;
    this.lastTask = 0; // when an expensive task last ran
    this.shown = {}; // what each task last drew
    const inputVisible = () => !$("input-panel").hidden;
    const task = (name, every, dirty, run, cheap = false) => ({ name, every, dirty, run, cheap, last: -Infinity });
    this.tasks = [
      ...Object.entries(this.charts).map(([name, chart]) => task(name, LINE_CHART_MS, () => chart.dirty, () => chart.draw())),
      task("targets", 0, () => this.eps !== null && `${this.eps}|${this.classNames}` !== this.shown.targets, () => {
        this.shown.targets = `${this.eps}|${this.classNames}`;
        drawTargets($("targets-chart"), this.eps, this.classNames);
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

  /** Start the animation loop (Plotly.js is ready). */
  start() {
    if (this.started) return;
    this.started = true;
    this.startedAt = performance.now();
    const loop = (now) => {
      requestAnimationFrame(loop);
      this.tick(now);
    };
    requestAnimationFrame(loop);
  }

  /** A new frame arrived. change: what it did to the history ("new" entry, "replaced" entry, or null). */
  push(frame, change, history) {
    if (change) {
      const entry = history.last;
      for (const chart of Object.values(this.charts)) {
        if (change === "new") chart.push([entry]);
        else chart.replaceLast(entry);
      }
      this.measured = frame;
    }
    this.latest = frame;
    this.eps = frame.eps;
    if (frame.extent && frame.runs.baseline && frame.runs.baseline.region_class) this.regions = frame;
  }

  /** Forget the run (after a reset): charts empty, panels rebuild on the next frame. */
  clear() {
    for (const chart of Object.values(this.charts)) chart.clear();
    for (const plane of Object.values(this.planes)) plane.clear();
    this.latest = null;
    this.measured = null;
    this.regions = null;
    this.shown = { targets: this.shown.targets };
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

  /** Frames drawn in the last second. */
  get fps() {
    const now = performance.now();
    while (this.drawTimes.length && this.drawTimes[0] < now - 1000) this.drawTimes.shift();
    return this.drawTimes.length;
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
    if (this.latest && this.latest !== this.drawn) {
      this.drawn = this.latest;
      this.drawTimes.push(now);
      this.drawPlanes(this.drawn);
      if (now - this.lastTask > STARVE_MS) this.runOneTask(now);
    } else if (this.drawn || now - this.startedAt > FIRST_FRAME_WAIT_MS) {
      this.runOneTask(now);
    }
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
        this.lastTask = now;
        this.cursor = (this.cursor + k + 1) % tasks.length;
        task.run();
        return;
      }
    }
  }

  drawPlanes(frame) {
    const radius = {};
    for (const run of RUNS) radius[run] = this.planes[run].ease(this.planes[run].need(frame));
    const shared = Math.max(radius.baseline, radius.smoothed);
    for (const run of RUNS) this.planes[run].draw(frame, this.sameScale ? shared : radius[run]);
  }
}
