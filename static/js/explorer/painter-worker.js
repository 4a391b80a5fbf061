/** The painter worker: the template planes' point layers, drawn on the worker's own animation frames
(painter.js: Panels). The page sends canvases (OffscreenCanvas), scenes, targets and views; the worker
reports frames drawn about four times a second, and answers snapshot requests (tests). It draws only
while something moves or changed, and sleeps otherwise. */

import { Panels } from "./painter.js";

const STATS_MS = 250;
const panels = new Panels();
const nextFrame = typeof self.requestAnimationFrame === "function"
  ? (fn) => self.requestAnimationFrame(fn)
  : (fn) => setTimeout(() => fn(performance.now()), 16);
let scheduled = false;
let reported = null;

function loop(now) {
  scheduled = false;
  const first = panels.firstDraw === null;
  panels.frame(now);
  if (first && panels.firstDraw !== null) report();
  if (panels.busy) schedule();
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  nextFrame(loop);
}

/** Frames drawn (cumulative and in the last second) and the first draw on the epoch clock. */
function report() {
  const now = performance.now();
  const stats = {
    type: "stats", frames: panels.frames, fps: panels.fps(now),
    firstDraw: panels.firstDraw === null ? null : performance.timeOrigin + panels.firstDraw,
  };
  const key = `${stats.frames}|${stats.fps}|${stats.firstDraw}`;
  if (key === reported) return;
  reported = key;
  self.postMessage(stats);
}

self.addEventListener("message", (event) => {
  const msg = event.data;
  if (msg.type === "canvas") {
    msg.canvas.testid = `panel-${msg.run}`; // the benchmark counts draws by panel
    panels.canvas(msg.run, msg.canvas);
  } else if (msg.type === "scene") {
    panels.scene(msg.run, msg.scene);
  } else if (msg.type === "target") {
    panels.target(msg.run, msg, performance.now());
  } else if (msg.type === "view") {
    panels.view(msg.run, msg.view, msg.scale);
  } else if (msg.type === "highlight") {
    panels.highlight(msg.run, msg.index);
  } else if (msg.type === "snapshot") {
    self.postMessage({ type: "snapshot", id: msg.id, snapshot: panels.snapshot(msg.run) });
    return;
  }
  schedule();
});

setInterval(report, STATS_MS);
