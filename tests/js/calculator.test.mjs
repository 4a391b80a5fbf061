import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { EXAMPLES, P_MIN, errorText, isExample, requestBody, resize, setAndRenormalize, signed } = await page("calculator/probs.js");

const sum = (v) => v.reduce((a, b) => a + b, 0);

test("setting one probability rescales the others, keeping their proportions and the sum 1", () => {
  const out = setAndRenormalize([0.01, 0.79, 0.15, 0.05], 1, 0.6);
  assert.equal(out[1], 0.6);
  assert.ok(Math.abs(sum(out) - 1) < 1e-9);
  assert.ok(Math.abs(out[2] / out[3] - 3) < 0.01);
});

test("a drag never leaves a probability below P_MIN nor one that squeezes the others below it", () => {
  const low = setAndRenormalize([0.25, 0.25, 0.25, 0.25], 0, -3);
  assert.equal(low[0], P_MIN);
  const high = setAndRenormalize([0.25, 0.25, 0.25, 0.25], 0, 5);
  assert.ok(high.every((p) => p >= P_MIN));
  assert.ok(Math.abs(sum(high) - 1) < 1e-9);
});

test("others that are all zero or empty share the rest evenly", () => {
  const out = setAndRenormalize([1, 0, 0], 0, 0.4);
  assert.deepEqual(out, [0.4, 0.3, 0.3]);
  const typedBad = setAndRenormalize([0.5, NaN, 0.5], 0, 0.5);
  assert.ok(Math.abs(sum(typedBad) - 1) < 1e-9);
});

test("resize: new classes get 1/K, then everything sums to 1", () => {
  const grown = resize([0.5, 0.5], 4);
  assert.equal(grown.length, 4);
  assert.ok(Math.abs(sum(grown) - 1) < 1e-3);
  assert.deepEqual(resize([0.2, 0.7, 0.1], 2), [0.2222, 0.7778]);
});

test("the request divides by the sum and refuses empty entries", () => {
  const body = requestBody({ probs: [0.4, 0.7, 0.1], label: 1, eps: 0.1 });
  assert.ok(Math.abs(body.probs[1] - 0.7 / 1.2) < 1e-12);
  assert.equal(body.label, 1);
  assert.deepEqual(requestBody({ probs: [0, 1], label: 0, eps: 0 }).probs, [0, 1]); // a zero: sent as typed
  assert.throws(() => requestBody({ probs: [0.5, NaN], label: 0, eps: 0.1 }), /p2 is empty/);
  assert.throws(() => requestBody({ probs: [0.5, 0.5], label: 0, eps: NaN }), /ε is empty/);
});

test("signed gradients, the server's error texts, the p2 example", () => {
  assert.equal(signed(-0.06), "−0.0600");
  assert.equal(signed(0.1), "+0.1000");
  assert.equal(signed(-0.00001), "0.0000");
  assert.equal(errorText({ error: "p must be positive" }, 422), "p must be positive");
  assert.equal(errorText({ detail: [{ loc: ["body", "eps"], msg: "too big" }] }, 422), "eps: too big");
  assert.equal(errorText({}, 500), "the server answered 500");
  const p2 = EXAMPLES["calc-example-p2"];
  assert.ok(isExample({ ...p2, probs: p2.probs.map((p) => p + 1e-8) }, p2));
  assert.ok(!isExample({ ...p2, eps: 0.1 }, p2));
});
