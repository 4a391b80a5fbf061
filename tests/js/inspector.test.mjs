// The point inspector's pure parts: hit-testing on a template plane (explorer/view.js: nearestPoint) and the
// card's rows (explorer/inspector.js: inspectRows, predicted), with the identity z_k = ½(‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²).
import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { nearestPoint, pixelX, pixelY } = await page("explorer/view.js");
const { inspectRows, predicted } = await page("explorer/inspector.js");

const VIEW = { l: 30, t: 10, w: 200, h: 200, x0: -1, x1: 1, y0: -1, y1: 1 };

test("nearestPoint: the point drawn nearest to the pixel, within the radius, else -1", () => {
  const positions = Float32Array.of(0, 0, 0.5, 0.5, -0.5, 0.5, 9, 9, 9, 9, 9, 9); // 3 points, then templates
  const at = (i) => [pixelX(VIEW, positions[2 * i]), pixelY(VIEW, positions[2 * i + 1])];
  assert.equal(nearestPoint(positions, 3, VIEW, ...at(1)), 1);
  const [x, y] = at(2);
  assert.equal(nearestPoint(positions, 3, VIEW, x + 5, y - 3), 2);
  assert.equal(nearestPoint(positions, 3, VIEW, x + 20, y), -1, "too far");
  assert.equal(nearestPoint(positions, 3, VIEW, x + 20, y, 25), 2, "a wider radius (touch)");
  assert.equal(nearestPoint(positions, 0, VIEW, x, y), -1);
});

test("inspectRows: per class the numbers and ½(‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²), which is z_k", () => {
  // x̃ = (1, 2, 1); w̃_k three vectors: z_k = w̃_k · x̃
  const x = [1, 2, 1];
  const w = [[1, 0, 0.5], [0, 1, -1], [2, -1, 0]];
  const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
  const logits = w.map((wk) => dot(wk, x));
  const exp = logits.map(Math.exp);
  const probs = exp.map((e) => e / exp.reduce((a, b) => a + b));
  const run = {
    logits, probs, target: [0.9333, 0.0333, 0.0333], loss: 0.5,
    distances: w.map((wk) => Math.hypot(...wk.map((v, i) => v - x[i]))),
    template_sq_norms: w.map((wk) => dot(wk, wk)), activation_sq_norm: dot(x, x),
  };
  const rows = inspectRows(run);
  assert.equal(rows.length, 3);
  rows.forEach((r, k) => {
    assert.ok(Math.abs(r.half - logits[k]) < 1e-12, `${r.half} vs ${logits[k]}`);
    assert.equal(r.p, probs[k]);
    assert.equal(r.q, run.target[k]);
  });
  assert.equal(predicted(run), logits.indexOf(Math.max(...logits)));
});
