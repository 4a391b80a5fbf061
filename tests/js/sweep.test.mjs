import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { aimFrom, approach } = await page("sweep/stop.js");
const { CHARTS, sweepCsv, traces } = await page("sweep/charts.js");
const { optimalLogitGap, lossFloor } = await page("lib/theory.js");

test("stopping at the target: pause a few ticks early, then step the rest", () => {
  const aim = { stopping: "playing", target: 800, speed: 60 };
  assert.deepEqual(approach(aim, { step: 500, playing: true }, 1000), { stopping: "playing", send: null });
  assert.deepEqual(approach(aim, { step: 650, playing: true }, 1000), { stopping: "pausing", send: { type: "pause" } });
  const pausing = { ...aim, stopping: "pausing" };
  assert.deepEqual(approach(pausing, { step: 700, playing: true }, 1000), { stopping: "pausing", send: null });
  assert.deepEqual(approach(pausing, { step: 720, playing: false }, 1000),
    { stopping: "topping-up", send: { type: "step", n: 80 } });
  assert.deepEqual(approach({ ...aim, stopping: "topping-up" }, { step: 800, playing: false }, 1000), { stopping: null, send: null });
  assert.deepEqual(approach(pausing, { step: 800, playing: false }, 1000), { stopping: null, send: null });
});

test("the server's step limit caps both the early pause and the top-up", () => {
  const aim = { stopping: "playing", target: 5000, speed: 900 };
  assert.equal(approach(aim, { step: 3900, playing: true }, 1000).stopping, "playing");
  assert.equal(approach(aim, { step: 4000, playing: true }, 1000).stopping, "pausing");
  assert.deepEqual(approach({ ...aim, stopping: "pausing" }, { step: 3000, playing: false }, 1000).send, { type: "step", n: 1000 });
});

test("aim only when a target lies ahead", () => {
  assert.equal(aimFrom(0, 800), "playing");
  assert.equal(aimFrom(800, 800), null);
  assert.equal(aimFrom(0, null), null);
  assert.equal(aimFrom(0, 0), null);
});

const run = (eps, gap) => ({ eps, metrics: { eps, logit_gap: gap, train_loss: 0.4, optimal_logit_gap: eps > 0 ? optimalLogitGap(eps, 3) : null, val_acc: null } });
const RUNS = [run(0, 9), run(0.1, 3.2), run(0.3, 1.6)];

test("each chart: one measured point per run, and the theory curve on its ε grid", () => {
  const [measured, theory] = traces(CHARTS.gap, RUNS);
  assert.deepEqual(measured.x, [0, 0.1, 0.3]);
  assert.deepEqual(measured.y, [9, 3.2, 1.6]);
  assert.equal(theory.line.dash, "dash");
  assert.ok(theory.x[0] > 0, "the optimal gap is infinite at ε = 0: its curve starts above");
  assert.ok(theory.y.every(Number.isFinite));
  assert.ok(Math.abs(theory.y.at(-1) - optimalLogitGap(0.3, 3)) < 1e-9);
  const floor = traces(CHARTS.loss, RUNS)[1];
  assert.ok(floor.name.startsWith("floor"));
  assert.equal(floor.x[0], 0);
  assert.ok(Math.abs(floor.y.at(-1) - lossFloor(0.3, 3)) < 1e-9);
  assert.equal(traces(CHARTS.acc, RUNS)[0].x.length, 0); // runs without the metric get no point
  assert.equal(traces(CHARTS.acc, RUNS).length, 1);
});

test("the sweep's CSV: one row per ε, the step, empty for a missing value", () => {
  const lines = sweepCsv(RUNS, 800).trim().split("\n");
  assert.equal(lines[0], "eps,step,train_acc,val_acc,val_nll,val_loss,ece,mean_confidence,logit_gap,optimal_logit_gap,train_loss,loss_floor");
  assert.equal(lines.length, 4);
  assert.equal(lines[1], "0,800,,,,,,,9,,0.4,");
});
