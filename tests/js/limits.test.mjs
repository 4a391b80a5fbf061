import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { applyLimits, checkValue, clampTo, describeLimit, inputBounds } = await page("lib/limits.js");

const POINTS = { min: 30, max: 20000, integer: true };
const LR = { min: 0, max: 10, integer: false, min_exclusive: true };
const NOISE = { min: 0, max: 0.5, integer: false };

test("checkValue: inside the range, whole numbers where asked, an exclusive minimum", () => {
  assert.equal(checkValue(POINTS, 600), null);
  assert.equal(checkValue(POINTS, 30), null);
  assert.equal(checkValue(POINTS, 20000), null);
  assert.equal(checkValue(POINTS, 29), "enter a whole number from 30 to 20000");
  assert.equal(checkValue(POINTS, 600.5), "enter a whole number from 30 to 20000");
  assert.equal(checkValue(POINTS, NaN), "enter a whole number from 30 to 20000");
  assert.equal(checkValue(LR, 0.01), null);
  assert.equal(checkValue(LR, 10), null);
  assert.equal(checkValue(LR, 0), "enter a number above 0, up to 10");
  assert.equal(checkValue(LR, 10.5), "enter a number above 0, up to 10");
  assert.equal(checkValue(NOISE, 0), null);
  assert.equal(checkValue(undefined, 3), null);
  assert.equal(checkValue(undefined, NaN), "enter a number");
});

test("describe, clamp and input attributes", () => {
  assert.equal(describeLimit(NOISE), "a number from 0 to 0.5");
  assert.equal(clampTo(NOISE, 0.7), 0.5);
  assert.equal(clampTo(NOISE, -1), 0);
  assert.equal(clampTo(undefined, 7), 7);
  assert.deepEqual(inputBounds(POINTS), { min: "30", max: "20000", step: "1" });
  assert.deepEqual(inputBounds(NOISE), { min: "0", max: "0.5" });
});

/** A stand-in for a DOM tree: elements with dataset, attributes and text. */
function fakeRoot(elements) {
  return { querySelectorAll: (sel) => elements.filter((e) => (sel === "[data-limit]" ? "limit" in e.dataset : "limitText" in e.dataset)) };
}
const el = (dataset) => ({ dataset, attrs: {}, textContent: "", setAttribute(k, v) { this.attrs[k] = v; } });

test("applyLimits sets min/max on inputs and fills the range texts", () => {
  const points = el({ limit: "points" });
  const lr = el({ limit: "lr" });
  const unknown = el({ limit: "nothing" });
  const noiseText = el({ limitText: "label_noise" });
  const models = el({ limitText: "sweep_models" });
  applyLimits(fakeRoot([points, lr, unknown, noiseText, models]),
    { fields: { points: POINTS, lr: LR, label_noise: NOISE }, sweep_models: 41 });
  assert.deepEqual(points.attrs, { min: "30", max: "20000", step: "1" });
  assert.deepEqual(lr.attrs, { min: "0", max: "10" });
  assert.deepEqual(unknown.attrs, {});
  assert.equal(noiseText.textContent, "0…0.5");
  assert.equal(models.textContent, "41");
});
