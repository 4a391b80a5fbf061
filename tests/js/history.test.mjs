import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { MetricHistory, measuredStep } = await page("explorer/history.js");
const { toCsv } = await page("lib/download.js");

const frame = (step, measured, eps = 0.1, loss = 1 / (measured + 1)) => ({
  step,
  runs: {
    baseline: { metrics: { steps: measured, eps: 0, train_loss: loss, val_loss: null, ece: 0.1 } },
    smoothed: { metrics: { steps: measured, eps, train_loss: loss + 0.2, val_loss: 0.5, ece: 0.05 } },
  },
});

test("toCsv: a header, rows, empty cells for null", () => {
  assert.equal(toCsv(["a", "b"], [[1, null], [undefined, "x"]]), "a,b\n1,\n,x\n");
  assert.equal(toCsv(["a"], []), "a\n");
});

test("one entry per measurement; the same measurement carried by later frames is no news", () => {
  const h = new MetricHistory();
  assert.equal(measuredStep(frame(5, 3)), 3);
  assert.equal(h.push(frame(3, 3)), "new");
  assert.equal(h.push(frame(4, 3)), null);
  assert.equal(h.push(frame(6, 6)), "new");
  assert.equal(h.push(frame(6, 6, 0.3)), "replaced"); // ε changed while paused: same step, measured again
  assert.equal(h.entries.length, 2);
  assert.equal(h.last.smoothed.eps, 0.3);
  h.clear();
  assert.equal(h.last, null);
});

test("CSV and JSON export", () => {
  const h = new MetricHistory();
  h.push(frame(0, 0));
  h.push(frame(3, 3));
  const lines = h.toCSV().trim().split("\n");
  assert.equal(lines[0], "step,baseline_steps,baseline_eps,baseline_train_loss,baseline_val_loss,baseline_ece,"
    + "smoothed_steps,smoothed_eps,smoothed_train_loss,smoothed_val_loss,smoothed_ece");
  assert.equal(lines.length, 3);
  assert.equal(lines[1], "0,0,0,1,,0.1,0,0.1,1.2,0.5,0.05");
  const data = JSON.parse(h.toJSON({ eps: 0.1 }));
  assert.deepEqual(data.settings, { eps: 0.1 });
  assert.equal(data.history[1].step, 3);
});
