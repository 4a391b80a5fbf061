import assert from "node:assert/strict";
import { test } from "node:test";
import { buildFrame, page } from "./helpers.mjs";

const { decodeFrame, frameView } = await page("lib/frames.js");

const metrics = (eps) => ({ eps, steps: 40, train_loss: 0.5 });
const HEADER = {
  v: 1, type: "frame", step: 42, diverged: null, playing: true, steps_per_s: 90, mode: "twin", extent: [-1, 1, -2, 2],
  runs: [
    { name: "baseline", eps: 0, metrics: metrics(0), reliability: { count: [1], confidence: [0.9], accuracy: [1] }, reliability_ts: { count: [1] } },
    { name: "smoothed", eps: 0.2, metrics: metrics(0.2), reliability: { count: [2], confidence: [0.8], accuracy: [0.5] } },
  ],
};
const ARRAYS = [
  { name: "labels", dtype: "u1", shape: [3], values: [0, 1, 2] }, // 3 bytes: the next array starts 4-aligned
  { name: "true_labels", dtype: "u1", shape: [3], values: [0, 1, 1] },
  { name: "flipped", dtype: "u1", shape: [3], values: [0, 0, 1] },
  { name: "inputs", dtype: "f4", shape: [3, 2], values: [0.5, -0.5, 1.25, 2, -3, 4] },
  { name: "0.points", dtype: "f4", shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
  { name: "0.pred", dtype: "u1", shape: [3], values: [0, 1, 1] },
  { name: "1.points", dtype: "f4", shape: [3, 2], values: [-1, -2, -3, -4, -5, -6] },
  { name: "1.confidence", dtype: "u1", shape: [3], values: [255, 128, 0] },
];

test("the data section starts at a multiple of 8 after the header", () => {
  for (const extra of ["", "x", "xx", "xxx", "xxxx", "xxxxx", "xxxxxx", "xxxxxxx"]) {
    const { buffer, start } = buildFrame({ ...HEADER, pad: extra }, ARRAYS);
    assert.equal(start % 8, 0);
    const { header, arrays } = decodeFrame(buffer);
    assert.equal(header.pad, extra);
    assert.deepEqual(Array.from(arrays.inputs), [0.5, -0.5, 1.25, 2, -3, 4]);
  }
});

test("decodeFrame gives the header and each array with its dtype and length", () => {
  const { buffer } = buildFrame(HEADER, ARRAYS);
  const { header, arrays } = decodeFrame(buffer);
  assert.equal(header.step, 42);
  assert.equal(header.mode, "twin");
  assert.deepEqual(Object.keys(arrays), ARRAYS.map((a) => a.name));
  for (const a of ARRAYS) {
    assert.ok(arrays[a.name] instanceof (a.dtype === "u1" ? Uint8Array : Float32Array), a.name);
    assert.deepEqual(Array.from(arrays[a.name]), a.values, a.name);
  }
});

test("a frame without arrays decodes to its header", () => {
  const { buffer } = buildFrame({ ...HEADER, runs: [] }, []);
  assert.deepEqual(decodeFrame(buffer).arrays, {});
});

test("frameView puts each run's arrays under its name and takes ε from the run named smoothed", () => {
  const { buffer } = buildFrame(HEADER, ARRAYS);
  const frame = frameView(buffer);
  assert.equal(frame.step, 42);
  assert.equal(frame.eps, 0.2);
  assert.deepEqual(Object.keys(frame.runs), ["baseline", "smoothed"]);
  assert.deepEqual(Array.from(frame.runs.baseline.points), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(frame.runs.baseline.pred), [0, 1, 1]);
  assert.deepEqual(Array.from(frame.runs.smoothed.confidence), [255, 128, 0]);
  assert.equal(frame.runs.smoothed.pred, undefined);
  assert.deepEqual(frame.runs.baseline.reliabilityScaled, { count: [1] });
  assert.equal(frame.runs.smoothed.reliabilityScaled, null);
  assert.deepEqual(Array.from(frame.trueLabels), [0, 1, 1]);
  assert.deepEqual(Array.from(frame.flipped), [0, 0, 1]);
  assert.deepEqual(frame.extent, [-1, 1, -2, 2]);
});

test("frameView looks the smoothed run up by name, not by position", () => {
  const runs = [HEADER.runs[1], HEADER.runs[0]]; // smoothed first
  const { buffer } = buildFrame({ ...HEADER, runs }, [{ name: "labels", dtype: "u1", shape: [1], values: [0] }]);
  const frame = frameView(buffer);
  assert.equal(frame.eps, 0.2);
  assert.equal(frame.inputs, null);
  const sweep = buildFrame({ ...HEADER, mode: "sweep", runs: [{ name: "eps=0", eps: 0 }, { name: "eps=0.3", eps: 0.3 }] }, []);
  const view = frameView(sweep.buffer);
  assert.equal(view.eps, null); // no run named smoothed
  assert.deepEqual(Object.keys(view.runs), ["eps=0", "eps=0.3"]);
});
