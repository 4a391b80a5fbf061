import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { classCount, entropy, lossFloor, optimalLogitGap, smoothedTargets } = await page("lib/theory.js");

const close = (a, b, tol = 1e-3) => assert.ok(Math.abs(a - b) < tol, `${a} ≠ ${b}`);

test("targets: (1 − ε)·one-hot + ε/K, ε/K to every class, the true one included", () => {
  const q = smoothedTargets(0.2, 4, 1);
  assert.deepEqual(q.map((v) => Number(v.toFixed(10))), [0.05, 0.85, 0.05, 0.05]);
  close(q.reduce((a, b) => a + b, 0), 1, 1e-12);
  assert.deepEqual(smoothedTargets(0, 3, 2), [0, 0, 1]);
});

test("the loss floor is the entropy of the smoothed target", () => {
  for (const [eps, k] of [[0.1, 3], [0.2, 4], [0.5, 3], [1, 3]]) {
    const pTrue = 1 - eps + eps / k;
    const pWrong = eps / k;
    const h = -pTrue * Math.log(pTrue) - (k - 1) * pWrong * Math.log(pWrong);
    close(lossFloor(eps, k), h, 1e-12);
  }
  close(lossFloor(0.1, 3), 0.291); // the explorer's explanation quotes 0.291 at ε = 0.1
  assert.equal(lossFloor(0, 3), 0);
  close(lossFloor(1, 3), Math.log(3), 1e-12);
  close(entropy([0.5, 0.5, 0]), Math.log(2), 1e-12);
});

test("the optimal logit gap is ln(1 + K(1 − ε)/ε)", () => {
  close(optimalLogitGap(0.1, 3), Math.log(28));
  close(optimalLogitGap(0.1, 3), 3.3322);
  close(optimalLogitGap(0.05, 3), 4.060);
  close(optimalLogitGap(0.2, 3), 2.565);
  assert.equal(optimalLogitGap(0, 3), Infinity);
  assert.equal(optimalLogitGap(1, 3), 0);
});

test("K is read back from the runs' own optimal gap, else the fallback", () => {
  const run = (eps, k) => ({ eps, metrics: { eps, optimal_logit_gap: eps > 0 ? optimalLogitGap(eps, k) : null } });
  assert.equal(classCount([run(0, 3), run(0.1, 3)]), 3);
  assert.equal(classCount([run(0.3, 5)]), 5);
  assert.equal(classCount([run(0, 4)]), 3);
  assert.equal(classCount([], 7), 7);
});
