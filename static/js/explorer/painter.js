/** The template planes' painter: each panel's point layer moved and redrawn at the display's refresh rate.

`Panels` holds, per run, a canvas with its scene (classes, flipped labels), its motion (motion.js: from
the drawn positions to the newest frame's) and its view (view.js); frame(now) redraws the panels whose
positions moved or whose view changed. It runs where the canvases are: in a worker (painter-worker.js,
the canvases handed over with transferControlToOffscreen), so painting and its rasterization never
wait for a Plotly chart on the main thread and never hold it up; or, where a browser has no
OffscreenCanvas or module workers (or with `?paint=main`), on the main thread, driven by the renderer's
animation frames. makePainter() gives the page either one, behind the same calls.
*/

import { paintScene } from "./layer.js";
import { Tween } from "./motion.js";

const RATE_WINDOW_MS = 1_000; // frames drawn are counted over the last second
const SNAPSHOT_TIMEOUT_MS = 5_000;

/** The point layers of the panels: per run a canvas (HTMLCanvasElement or OffscreenCanvas), its scene,
motion and view. Messages from the page arrive as scene(), target() and view() calls. */
export class Panels {
  constructor() {
    this.panels = {};
    this.frames = 0; // animation frames in which a panel was drawn
    this.times = [];
    this.firstDraw = null; // when the first frame was drawn (performance.now() of this thread)
  }

  panel(run) {
    if (!this.panels[run]) {
      this.panels[run] = { canvas: null, ctx: null, scene: null, tween: new Tween(), wrong: null, view: null, scale: 1,
        step: null, draws: 0, templatesPx: null, drawnView: null, dirty: false, highlight: -1 };
    }
    return this.panels[run];
  }

  /** The canvas a run is drawn on. */
  canvas(run, canvas) {
    const p = this.panel(run);
    p.canvas = canvas;
    p.ctx = canvas.getContext("2d");
    p.dirty = true;
  }

  /** A new display subsample: its classes and flipped labels; the next target is a jump. */
  scene(run, scene) {
    const p = this.panel(run);
    p.scene = scene;
    p.tween.clear();
  }

  /** The newest frame's positions (2n points, then 6 template coordinates): move there over `duration` ms
  from what is drawn at `now` (0: jump there). */
  target(run, { positions, wrong, step, duration }, now) {
    const p = this.panel(run);
    p.tween.retarget(positions, now, duration);
    p.wrong = wrong;
    p.step = step;
    p.dirty = true;
  }

  /** The inspected point (its index in the display subsample; -1: none), ringed. */
  highlight(run, index) {
    const p = this.panel(run);
    if (p.highlight === index) return;
    p.highlight = index;
    p.dirty = true;
  }

  /** The plot area and ranges to draw through ({width, height, res, l, t, w, h, x0, x1, y0, y1}), marker scale. */
  view(run, view, scale) {
    const p = this.panel(run);
    p.view = view;
    p.scale = scale;
    p.dirty = true;
  }

  /** True while a panel still has to draw (moving, or changed since its last draw). */
  get busy() {
    return Object.values(this.panels).some((p) => p.dirty || !p.tween.settled);
  }

  /** Redraw the panels that moved or changed; true when any did. */
  frame(now) {
    let drew = false;
    for (const p of Object.values(this.panels)) {
      if (!p.ctx || !p.scene || !p.view || !p.tween.to || !p.wrong) continue;
      const moved = p.tween.at(now);
      if (!moved && !p.dirty) continue;
      p.dirty = false;
      const { width, height, res } = p.view;
      const w = Math.max(1, Math.round(width * res));
      const h = Math.max(1, Math.round(height * res));
      if (p.canvas.width !== w) p.canvas.width = w;
      if (p.canvas.height !== h) p.canvas.height = h;
      const ctx = p.ctx;
      ctx.setTransform(res, 0, 0, res, 0, 0);
      ctx.clearRect(0, 0, width, height); // one clearRect per draw: the benchmark counts them
      p.templatesPx = paintScene(ctx, p.scene, p.tween.current, p.wrong, p.view, p.scale, p.highlight);
      p.drawnView = p.view;
      p.draws += 1;
      drew = true;
    }
    if (drew) {
      this.frames += 1;
      this.times.push(now);
      if (this.firstDraw === null) this.firstDraw = now;
    }
    return drew;
  }

  /** Frames drawn in the last second before `now`. */
  fps(now) {
    while (this.times.length && this.times[0] < now - RATE_WINDOW_MS) this.times.shift();
    return this.times.length;
  }

  /** What a run's layer shows: positions drawn (plane coordinates), templates' pixels and the view they were
  drawn through, draws, step. */
  snapshot(run) {
    const p = this.panels[run];
    if (!p) return null;
    return { step: p.step, settled: p.tween.settled, draws: p.draws, drawn: p.tween.current ? Array.from(p.tween.current) : null,
      templatesPx: p.templatesPx, view: p.drawnView, highlight: p.highlight };
  }
}

/** The painter on the page's main thread: the renderer calls tick(now) on its animation frames. */
class MainPainter {
  constructor(canvases) {
    this.kind = "main";
    this.panels = new Panels();
    for (const [run, canvas] of Object.entries(canvases)) this.panels.canvas(run, canvas);
  }

  scene(run, scene) {
    this.panels.scene(run, scene);
  }

  target(run, target) {
    this.panels.target(run, target, performance.now());
  }

  view(run, view, scale) {
    this.panels.view(run, view, scale);
  }

  highlight(run, index) {
    this.panels.highlight(run, index);
  }

  /** Draw what moved; true while there is more to draw (ask for another animation frame). */
  tick(now) {
    this.panels.frame(now);
    return this.panels.busy;
  }

  get fps() {
    return this.panels.fps(performance.now());
  }

  get frames() {
    return this.panels.frames;
  }

  get firstDrawAt() {
    return this.panels.firstDraw;
  }

  async snapshot(run) {
    return this.panels.snapshot(run);
  }
}

/** The painter in a worker: canvases handed over, everything else sent as messages; the worker reports
frames drawn (stats) about four times a second and answers snapshot requests. */
class WorkerPainter {
  constructor(canvases, onFail) {
    this.kind = "worker";
    this.stats = { frames: 0, fps: 0, firstDraw: null };
    this.pending = new Map();
    this.nextId = 1;
    this.worker = new Worker(new URL("./painter-worker.js", import.meta.url), { type: "module" });
    this.worker.addEventListener("message", (e) => this.receive(e.data));
    this.worker.addEventListener("error", (e) => {
      e.preventDefault();
      onFail();
    });
    for (const [run, canvas] of Object.entries(canvases)) {
      const offscreen = canvas.transferControlToOffscreen();
      this.worker.postMessage({ type: "canvas", run, canvas: offscreen }, [offscreen]);
    }
  }

  receive(msg) {
    if (msg.type === "stats") {
      this.stats = msg;
    } else if (msg.type === "snapshot") {
      const done = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (done) done(msg.snapshot);
    }
  }

  scene(run, scene) {
    this.worker.postMessage({ type: "scene", run, scene });
  }

  target(run, target) {
    const positions = Float32Array.from(target.positions);
    const wrong = Uint8Array.from(target.wrong);
    this.worker.postMessage({ type: "target", run, ...target, positions, wrong }, [positions.buffer, wrong.buffer]);
  }

  view(run, view, scale) {
    this.worker.postMessage({ type: "view", run, view, scale });
  }

  highlight(run, index) {
    this.worker.postMessage({ type: "highlight", run, index });
  }

  tick() {
    return false; // the worker draws on its own animation frames
  }

  get fps() {
    return this.stats.fps;
  }

  get frames() {
    return this.stats.frames;
  }

  /** The first draw, on the page's clock (the worker reports it on the epoch clock). */
  get firstDrawAt() {
    return this.stats.firstDraw === null ? null : this.stats.firstDraw - performance.timeOrigin;
  }

  snapshot(run) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ type: "snapshot", id, run });
      setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error("the painter worker did not answer"));
      }, SNAPSHOT_TIMEOUT_MS);
    });
  }
}

/** True where canvases can be handed to a worker. */
export function canPaintInWorker() {
  return typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined"
    && typeof HTMLCanvasElement !== "undefined" && "transferControlToOffscreen" in HTMLCanvasElement.prototype;
}

/** A painter for these canvases ({run: canvas element}): in a worker where possible (unless inWorker is
false); onFail() is called if that worker cannot run (the caller then makes a main-thread one on fresh canvases). */
export function makePainter(canvases, { inWorker = true, onFail = () => {} } = {}) {
  if (inWorker && canPaintInWorker()) {
    try {
      return new WorkerPainter(canvases, onFail);
    } catch {
      // a worker that cannot even start: paint here (the canvases were not handed over)
    }
  }
  return new MainPainter(canvases);
}
