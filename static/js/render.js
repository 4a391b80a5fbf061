/** The drawing loop: the template planes show the newest frame only; the other charts take turns.

Every animation tick draws the planes if a newer frame has arrived (frames in between are skipped),
then redraws at most one other chart, round-robin, each no more often than its interval: Plotly
redraws of the line charts cost 15–35 ms each in software-rendered Chromium (DESIGN.md).
*/

import { drawConfidence, drawReliability, drawTargets } from "./bars.js";
import { makeLineCharts } from "./charts.js";
import { TemplatePlane } from "./plane.js";
import { readouts } from "./readouts.js";
import { drawRegions } from "./regions.js";

const LINE_CHART_MS = 200; // each line chart redraws at most this often (every 3rd to 6th drawn frame)
const BARS_MS = 500;
const REGIONS_MS = 600; // decision regions arrive on every 3rd server frame and change slowly
const READOUT_MS = 200;
const RUNS = ["baseline", "smoothed"];

const $ = (id) => document.getElementById(id);

export class Renderer {
  constructor() {
    this.planes = Object.fromEntries(RUNS.map((run) => [run, new TemplatePlane($(`panel-${run}`), run)]));
    this.charts = makeLineCharts();
    this.sameScale = false;
    this.latest = null; // newest frame received
    this.regions = null; // newest frame that carries decision regions
    this.drawn = null; // the frame the planes show
    this.barsDrawn = null;
    this.regionsDrawn = null;
    this.targetsEps = null;
    this.drawTimes = [];
    this.ticks = 0;
    this.lastReadout = 0;
    this.cursor = 0;
    this.tasks = [
      ...Object.values(this.charts).map((chart) => ({ every: LINE_CHART_MS, dirty: () => chart.dirty, run: () => chart.draw() })),
      { every: 0, dirty: () => this.drawn && this.drawn.eps !== this.targetsEps, run: () => this.drawTargets(this.drawn.eps) },
      { every: BARS_MS, dirty: () => this.drawn && this.drawn !== this.barsDrawn, run: () => this.drawBars() },
      { every: REGIONS_MS, dirty: () => this.regions && this.regions !== this.regionsDrawn && !$("input-panel").hidden, run: () => this.drawRegions() },
    ].map((task) => ({ ...task, last: -Infinity }));
  }

  /** Start the animation loop. */
  start() {
    const loop = (now) => {
      requestAnimationFrame(loop);
      this.tick(now);
    };
    requestAnimationFrame(loop);
  }

  /** A new frame arrived: its metrics extend the line charts now; its picture waits for the next tick. */
  push(frame, entry, history) {
    for (const chart of Object.values(this.charts)) {
      if (entry) chart.push([entry]);
      else chart.replaceLast(history.entries[history.entries.length - 1]);
    }
    this.latest = frame;
    if (frame.extent && frame.runs.baseline.region_class) this.regions = frame;
  }

  /** Forget the run (after a reset): charts empty, panels rebuild on the next frame. */
  clear() {
    for (const chart of Object.values(this.charts)) chart.clear();
    for (const plane of Object.values(this.planes)) plane.clear();
    this.latest = null;
    this.regions = null;
  }

  /** Frames drawn in the last second. */
  get fps() {
    const now = performance.now();
    while (this.drawTimes.length && this.drawTimes[0] < now - 1000) this.drawTimes.shift();
    return this.drawTimes.length;
  }

  tick(now) {
    this.ticks += 1;
    let drewPlanes = false;
    if (this.latest && this.latest !== this.drawn) {
      this.drawn = this.latest;
      this.drawTimes.push(now);
      this.drawPlanes(this.drawn);
      drewPlanes = true;
    }
    if (!drewPlanes || this.ticks % 2 === 0) this.runOneTask(now);
    if (this.drawn && now - this.lastReadout > READOUT_MS) {
      this.lastReadout = now;
      readouts(this.drawn);
    }
  }

  runOneTask(now) {
    const tasks = this.tasks;
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

  drawPlanes(frame) {
    const radius = {};
    for (const run of RUNS) radius[run] = this.planes[run].ease(this.planes[run].need(frame));
    const shared = Math.max(radius.baseline, radius.smoothed);
    for (const run of RUNS) this.planes[run].draw(frame, this.sameScale ? shared : radius[run]);
  }

  drawTargets(eps) {
    this.targetsEps = eps;
    drawTargets($("targets-chart"), eps);
  }

  drawBars() {
    this.barsDrawn = this.drawn;
    drawConfidence($("confidence-chart"), this.drawn);
    drawReliability($("reliability-chart"), this.drawn);
  }

  drawRegions() {
    this.regionsDrawn = this.regions;
    for (const run of RUNS) drawRegions($(`input-${run}`), this.regions, run);
  }
}
