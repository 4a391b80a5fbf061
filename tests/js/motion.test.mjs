// Motion between server frames (explorer/motion.js) and the view of a template plane (explorer/view.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { FramePeriod, MAX_PERIOD_MS, MIN_PERIOD_MS, Tween } = await page("explorer/motion.js");
const { ViewRadius, needOf, pixelX, pixelY, rangesDiffer, rangesFor } = await page("explorer/view.js");

test("a first target, or a duration of 0, is a jump: the positions are the target's, exactly", () => {
  const t = new Tween();
  const a = Float32Array.of(0.1, -0.2, 3.3);
  t.retarget(a, 0, 100); // nothing before: a jump
  assert.equal(t.at(10), true, "a jump is drawn once");
  assert.deepEqual(Array.from(t.current), Array.from(a));
  assert.equal(t.settled, true);
  assert.equal(t.at(20), false, "then nothing moves");
  const b = Float32Array.of(1.7, 2.9, -0.123456789);
  t.retarget(b, 30, 0);
  assert.equal(t.at(30), true);
  assert.deepEqual(Array.from(t.current), Array.from(b), "float32 values kept exactly");
});

test("a target moves linearly over its duration, then holds it exactly", () => {
  const t = new Tween();
  t.retarget([0, 0], 0, 0);
  t.retarget([10, -20], 1000, 100);
  assert.equal(t.settled, false);
  t.at(1025);
  assert.deepEqual(Array.from(t.current), [2.5, -5]);
  t.at(1050);
  assert.deepEqual(Array.from(t.current), [5, -10]);
  assert.equal(t.at(1100), true);
  assert.deepEqual(Array.from(t.current), [10, -20]);
  assert.equal(t.settled, true);
  assert.equal(t.at(1200), false);
});

test("a target that arrives mid-way starts from the positions drawn at that moment (no jump)", () => {
  const t = new Tween();
  t.retarget([0], 0, 0);
  t.retarget([10], 0, 100);
  t.retarget([20], 50, 100); // at 50 the point is at 5
  t.at(50);
  assert.equal(t.current[0], 5);
  t.at(100);
  assert.equal(t.current[0], 12.5);
  t.at(150);
  assert.equal(t.current[0], 20);
});

test("a target of another length (a new display subsample) is a jump; clear() forgets", () => {
  const t = new Tween();
  t.retarget([1, 2], 0, 0);
  t.retarget([5, 6, 7, 8], 10, 100);
  t.at(11);
  assert.deepEqual(Array.from(t.current), [5, 6, 7, 8]);
  t.clear();
  t.retarget([9, 9, 9, 9], 20, 100);
  assert.equal(t.settled, true);
});

test("the frame period is the median gap between arrivals, within bounds; reset forgets", () => {
  const p = new FramePeriod();
  assert.equal(p.ms, 0);
  p.arrive(0);
  assert.equal(p.ms, 0, "one arrival says nothing");
  for (const t of [100, 200, 290, 400, 900, 1000]) p.arrive(t); // one late frame does not count much
  assert.equal(p.ms, 100);
  p.reset();
  assert.equal(p.ms, 0);
  p.arrive(0);
  p.arrive(5_000);
  assert.equal(p.ms, MAX_PERIOD_MS);
  p.reset();
  p.arrive(0);
  p.arrive(1);
  assert.equal(p.ms, MIN_PERIOD_MS);
});

test("needOf: the largest absolute coordinate with room to spare; NaN and infinities ignored", () => {
  assert.ok(Math.abs(needOf([1, -2], Float32Array.of(0.5, NaN, -Infinity)) - 2 * 1.12) < 1e-12);
  assert.equal(needOf([]), 1e-3);
});

test("equal aspect: the ranges stretch along the longer side of the plot area", () => {
  assert.deepEqual(rangesFor(2, 2), { x: [-4, 4], y: [-2, 2] });
  assert.deepEqual(rangesFor(2, 0.5), { x: [-2, 2], y: [-4, 4] });
  const view = { l: 30, t: 10, w: 400, h: 200, x0: -4, x1: 4, y0: -2, y1: 2 };
  assert.equal(pixelX(view, 0), 230);
  assert.equal(pixelY(view, 0), 110);
  assert.equal(pixelY(view, 2), 10, "y grows upwards");
  assert.equal((pixelX(view, 1) - pixelX(view, 0)), (pixelY(view, 0) - pixelY(view, 1)), "a unit is as long on both axes");
  assert.equal(rangesDiffer(rangesFor(2, 2), rangesFor(2.001, 2)), false);
  assert.equal(rangesDiffer(rangesFor(2, 2), rangesFor(2.2, 2)), true);
});

test("the view grows at once, holds while everything fits, and shrinks slowly, in steps", () => {
  const v = new ViewRadius();
  assert.ok(Math.abs(v.ease(1, 0) - 1.1) < 1e-12, "first view");
  assert.ok(Math.abs(v.ease(2, 10) - 2.8) < 1e-12, "grows at once, with room");
  assert.equal(v.ease(1.5, 20), 2.8, "holds while it fits");
  assert.equal(v.ease(1, 100), 2.8, "small for a moment: holds");
  assert.equal(v.ease(1, 1_000), 2.8);
  const r = v.ease(1, 1_700); // small for 1.6 s: the first step down
  assert.ok(r < 2.8 && r >= 2.8 * 0.85 - 1e-12, `one step, not all the way (${r})`);
  assert.equal(v.ease(1, 1_750), r, "steps are spaced out");
  let t = 1_750;
  let last = r;
  while (t < 10_000) {
    t += 200;
    last = v.ease(1, t);
  }
  assert.ok(Math.abs(last - 1.15) < 1e-9, `ends with a little room (${last})`);
  assert.ok(Math.abs(v.ease(3, t + 1) - 4.2) < 1e-12, "and grows at once again");
});
