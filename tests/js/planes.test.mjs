// The template planes' point layer: the painter (explorer/painter.js, explorer/layer.js) and a panel's
// targets and views (explorer/plane.js), with a recording stand-in for the canvas and the page.
import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

/** A 2-D context that records what is drawn (the calls the painter makes). */
function recordingContext() {
  const calls = [];
  const ctx = { calls };
  for (const name of ["save", "restore", "beginPath", "rect", "clip", "moveTo", "lineTo", "arc", "closePath", "fill",
    "stroke", "fillText", "clearRect", "setTransform"]) {
    ctx[name] = (...args) => calls.push([name, ...args]);
  }
  return ctx;
}

function fakeCanvas() {
  const ctx = recordingContext();
  return { width: 0, height: 0, ctx, style: {}, getContext: () => ctx, setAttribute() {}, remove() {} };
}

globalThis.window = { devicePixelRatio: 1 };
globalThis.document = { createElement: () => fakeCanvas() };

const { Panels } = await page("explorer/painter.js");
const { paintScene } = await page("explorer/layer.js");
const { TemplatePlane } = await page("explorer/plane.js");

const VIEW = { width: 300, height: 220, res: 2, l: 30, t: 10, w: 260, h: 200, x0: -1.3, x1: 1.3, y0: -1, y1: 1 };
const SCENE = { n: 3, classes: Uint8Array.of(0, 1, 2), flips: Int32Array.of(2), flipClasses: Uint8Array.of(0) };
const at = (x, y) => Float32Array.of(x, y, x, y, x, y, -1, 0, 1, 0, 0, 1); // 3 points, then 3 templates

test("paintScene: points in the plot area (clipped), × for wrong predictions, rings, templates where the view maps them", () => {
  const ctx = recordingContext();
  const positions = Float32Array.of(0, 0, 0.5, 0.5, -0.5, -0.5, -1, 0, 1, 0, 0, 1);
  const px = paintScene(ctx, SCENE, positions, Uint8Array.of(0, 1, 0), VIEW, 1);
  assert.deepEqual(ctx.calls.find((c) => c[0] === "rect"), ["rect", 30, 10, 260, 200], "clipped to the plot area");
  const arcs = ctx.calls.filter((c) => c[0] === "arc");
  assert.equal(arcs.length, 2 + 1, "two dots (one point is wrong: a ×) and one ring");
  assert.deepEqual(arcs[0].slice(1, 3), [160, 110], "the origin at the plot area's centre");
  assert.deepEqual(px, [60, 110, 260, 110, 160, 10], "templates at the view's map of their coordinates");
  assert.equal(ctx.calls.filter((c) => c[0] === "fillText").map((c) => c[1]).join(" "), "w₀ w₁ w₂");
});

test("paintScene: a scene's templateNames label its templates (the diagnose page: the file's classes)", () => {
  const ctx = recordingContext();
  const positions = Float32Array.of(0, 0, 0.5, 0.5, -0.5, -0.5, -1, 0, 1, 0, 0, 1);
  paintScene(ctx, { ...SCENE, templateNames: ["w₃", "w₇", "w₁₀"] }, positions, new Uint8Array(3), VIEW, 1);
  assert.equal(ctx.calls.filter((c) => c[0] === "fillText").map((c) => c[1]).join(" "), "w₃ w₇ w₁₀");
});

test("TemplatePlane: a frame's templateNames go into the scene it sends", () => {
  const { p, sent } = plane();
  p.setTarget({ ...frame(0), templateNames: ["w₁", "w₂", "w₉"] }, 0);
  assert.deepEqual(sent[0][1].templateNames, ["w₁", "w₂", "w₉"]);
  p.clear();
  p.setTarget(frame(1), 0);
  assert.equal(sent.findLast((m) => m[0] === "scene")[1].templateNames, undefined, "without them: w₀ w₁ w₂");
});

test("Panels: nothing drawn until canvas, scene, view and a target; a jump is drawn once", () => {
  const panels = new Panels();
  const canvas = fakeCanvas();
  panels.canvas("smoothed", canvas);
  assert.equal(panels.frame(0), false);
  panels.scene("smoothed", SCENE);
  panels.view("smoothed", VIEW, 1);
  assert.equal(panels.frame(1), false, "no target yet");
  panels.target("smoothed", { positions: at(0.2, 0.1), wrong: new Uint8Array(3), step: 5, duration: 0 }, 2);
  assert.equal(panels.frame(3), true);
  assert.equal(canvas.width, 600, "the canvas at the screen's resolution");
  assert.equal(canvas.ctx.calls.filter((c) => c[0] === "clearRect").length, 1, "one clearRect per draw");
  assert.equal(panels.frame(4), false, "a still panel is not drawn again");
  assert.equal(panels.busy, false);
  const s = panels.snapshot("smoothed");
  assert.equal(s.step, 5);
  assert.equal(s.settled, true);
  assert.deepEqual(s.drawn.slice(0, 2), [Math.fround(0.2), Math.fround(0.1)]);
  assert.deepEqual(s.view, VIEW);
});

test("Panels: a move is drawn on every frame until it ends exactly on the target; a new scene jumps", () => {
  const panels = new Panels();
  panels.canvas("baseline", fakeCanvas());
  panels.scene("baseline", SCENE);
  panels.view("baseline", VIEW, 1);
  const wrong = new Uint8Array(3);
  panels.target("baseline", { positions: at(0, 0), wrong, step: 3, duration: 0 }, 0);
  panels.frame(0);
  panels.target("baseline", { positions: at(1, -1), wrong, step: 6, duration: 100 }, 0);
  let draws = 0;
  for (let t = 16; t <= 160; t += 16) if (panels.frame(t)) draws += 1;
  assert.equal(draws, 7, "every display frame of the 100 ms move, the last one on the target");
  assert.deepEqual(panels.snapshot("baseline").drawn.slice(0, 2), [1, -1]);
  assert.equal(panels.fps(160), 8);
  panels.scene("baseline", SCENE); // a new display subsample
  panels.target("baseline", { positions: at(-1, 1), wrong, step: 0, duration: 100 }, 200);
  panels.frame(201);
  assert.deepEqual(panels.snapshot("baseline").drawn.slice(0, 2), [-1, 1], "jumped, no motion");
});

/** A frame as frameView() makes it: one run per name, 3 display points. */
function frame(step, { labels = [0, 1, 2], shift = 0 } = {}) {
  const run = (k) => ({
    points: Float32Array.of(shift, 0, 1 + shift, 1, -1, k), templates: Float32Array.of(-1, 0, 1, 0, 0, 1),
    pred: Uint8Array.of(0, 1, 0),
  });
  return { step, trueLabels: Uint8Array.from(labels), flipped: Uint8Array.of(0, 0, 1), labels: Uint8Array.of(0, 1, 0),
    runs: { baseline: run(0), smoothed: run(1) } };
}

function plane() {
  const el = { dataset: {}, clientWidth: 300, clientHeight: 236, append() {} };
  const p = new TemplatePlane(el, "smoothed");
  const sent = [];
  p.attach({ scene: (run, s) => sent.push(["scene", s]), target: (run, t) => sent.push(["target", t]),
    view: (run, v, scale) => sent.push(["view", v, scale]), snapshot: async () => null, kind: "test" });
  return { p, el, sent };
}

test("TemplatePlane: the first frame is a jump, the next ones move; × where the prediction is wrong", () => {
  const { p, el, sent } = plane();
  p.setTarget(frame(0), 33);
  assert.deepEqual(sent.map((m) => m[0]), ["scene", "target"]);
  assert.equal(sent[1][1].duration, 0);
  assert.deepEqual(Array.from(sent[1][1].wrong), [0, 0, 1]);
  assert.deepEqual(Array.from(sent[0][1].flips), [2]);
  p.setTarget(frame(3, { shift: 0.5 }), 33);
  assert.equal(sent[2][0], "target");
  assert.equal(sent[2][1].duration, 33, "the same subsample, a later step: it moves");
  assert.equal(el.dataset.step, "3");
  assert.deepEqual(p.transitions.map((t) => t.kind), ["jump", "move"]);
});

test("TemplatePlane: a new display subsample, a step back or a cleared run jump; paused frames (0 ms) jump", () => {
  const { p, sent } = plane();
  p.setTarget(frame(0), 33);
  p.setTarget(frame(3), 33);
  p.setTarget(frame(6, { labels: [2, 1, 0] }), 33);
  assert.equal(sent.at(-2)[0], "scene", "a new subsample sends its scene");
  assert.equal(sent.at(-1)[1].duration, 0);
  p.setTarget(frame(2, { labels: [2, 1, 0] }), 33);
  assert.equal(sent.at(-1)[1].duration, 0, "a step back (another run)");
  p.setTarget(frame(5, { labels: [2, 1, 0] }), 0);
  assert.equal(sent.at(-1)[1].duration, 0, "paused");
  p.clear();
  p.setTarget(frame(9, { labels: [2, 1, 0] }), 33);
  assert.equal(sent.at(-1)[1].duration, 0, "after a reset");
  assert.deepEqual(p.transitions.map((t) => t.kind), ["jump", "move", "jump", "jump", "jump", "jump"]);
});

test("TemplatePlane: before Plotly, the view is the margins over the graph, with equal aspect", () => {
  const { p, sent } = plane();
  p.setTarget(frame(0), 0);
  p.update(p.ease(0));
  const [, view] = sent.find((m) => m[0] === "view");
  assert.deepEqual([view.l, view.t, view.w, view.h], [34, 10, 256, 200]);
  assert.ok(Math.abs((view.x1 - view.x0) / view.w - (view.y1 - view.y0) / view.h) < 1e-12, "equal aspect");
  assert.ok(view.y1 >= 1.12, "the view holds the points with room");
  const count = sent.length;
  p.update(p.ease(1));
  assert.equal(sent.length, count, "an unchanged view is not sent again");
});
