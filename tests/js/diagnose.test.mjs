// The /diagnose page's pure module (diagnose/adapt.js): a report in the shapes the explorer's plane and
// reliability components take, and its numbers in words.
import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { axisLabels, classLabel, describe, fmt, planeFrame, reliabilityFrame, summaryRows, templateName } = await page("diagnose/adapt.js");

/** A small report as /api/diagnose answers it (docs/diagnose.md), K = 12, the plane through classes 3, 7 and 10. */
function report(changes = {}) {
  const bins = { edges: [0, 0.5, 1], count: [1, 3], confidence: [0.4, 0.9], accuracy: [0, 1] };
  return {
    format: "npz", k: 12, d: 64, n_train: 900, n_val: 0, class_names: Array.from({ length: 12 }, (_, c) => `class ${c}`),
    classes: [3, 7, 10], classes_chosen: "most confused", evaluated_on: "training", eps: 0.1, accuracy: 0.9871,
    train_accuracy: 0.9871, nll: 0.04567, ece: 0.01234, temperature: 1.5, temperature_at_bound: false,
    nll_after_temperature: 0.04, ece_after_temperature: 0.005, reliability: bins, reliability_after_temperature: bins,
    gap: { mean: 4.2, std: 0.7, per_class: [], per_class_std: [], val_mean: null, theory: Math.log(1 + 12 * 0.9 / 0.1) },
    distances: { correct: 3, wrong: 5 }, spread: 0.3, spread_per_class: [],
    similar_share: { pair: [3, 7], share: 0.2, share_per_point: 0.1, even: 1 / 11 },
    projection: {
      classes: [3, 7, 10], templates: [[1, 0], [-1, 0], [0, 2]], template_norms: [1, 1, 1],
      train: [[0.5, 0.25], [-0.5, 0], [0, 1.5], [0.1, 0.2]], train_index: [4, 9, 11, 20], train_labels: [3, 7, 10, 3],
      train_pred: [3, 3, 10, 5], val: [], val_index: [], val_labels: [], val_pred: [],
    },
    ...changes,
  };
}

test("planeFrame: the three classes become 0, 1, 2; a prediction outside them is wrong; templates named after the file's classes", () => {
  const frame = planeFrame(report(), "train");
  assert.deepEqual(Array.from(frame.trueLabels), [0, 1, 2, 0]);
  assert.deepEqual(Array.from(frame.flipped), [0, 0, 0, 0]);
  assert.deepEqual(frame.templateNames, ["w₃", "w₇", "w₁₀"]);
  const run = frame.runs.train;
  assert.deepEqual(Array.from(run.points), [0.5, 0.25, -0.5, 0, 0, 1.5, Math.fround(0.1), Math.fround(0.2)]);
  assert.deepEqual(Array.from(run.templates), [1, 0, -1, 0, 0, 2]);
  const wrong = Array.from(run.pred, (p, i) => (p !== frame.trueLabels[i] ? 1 : 0));
  assert.deepEqual(wrong, [0, 1, 0, 1], "7 predicted as 3, and 3 predicted as 5 (outside the plane)");
});

test("planeFrame of an empty validation set is an empty frame", () => {
  const frame = planeFrame(report(), "val");
  assert.equal(frame.trueLabels.length, 0);
  assert.equal(frame.runs.val.points.length, 0);
});

test("reliabilityFrame: the network's bins with the temperature-scaled ones, as drawReliability reads a run", () => {
  const r = report();
  const frame = reliabilityFrame(r);
  assert.equal(frame.runs.network.reliability, r.reliability);
  assert.equal(frame.runs.network.reliabilityScaled, r.reliability_after_temperature);
});

test("names: subscript digits, a class's index where its name does not say it, distinct axis labels", () => {
  assert.equal(templateName(0), "w₀");
  assert.equal(templateName(129), "w₁₂₉");
  const named = report({ class_names: ["cat", "dog", "cat", ...Array.from({ length: 9 }, (_, c) => `c${c}`)] });
  assert.equal(classLabel(named, 1), "dog (1)");
  assert.equal(classLabel(report(), 4), "class 4");
  assert.deepEqual(axisLabels(named).slice(0, 3), ["cat (0)", "dog (1)", "cat (2)"], "repeated names get their index");
  assert.deepEqual(axisLabels(report()).slice(0, 2), ["class 0", "class 1"]);
});

test("fmt and describe", () => {
  assert.equal(fmt(0.012345), "0.0123");
  assert.equal(fmt(4.5108), "4.51");
  assert.equal(fmt(7), "7");
  assert.equal(fmt(null), "–");
  assert.equal(fmt(Infinity), "–");
  assert.equal(describe(report()), "K = 12 classes, d = 64 penultimate units, 900 training points (npz).");
  assert.equal(describe(report({ n_val: 300 })), "K = 12 classes, d = 64 penultimate units, 900 training and 300 validation points (npz).");
});

test("summaryRows: each measure with its value and what to compare it with", () => {
  const rows = Object.fromEntries(summaryRows(report()).map(([what, value, note]) => [what, [value, note]]));
  assert.deepEqual(rows["accuracy (training)"], ["98.7 %", "training 98.7 %"]);
  assert.deepEqual(rows["ECE (training, 15 bins)"], ["0.0123", "after temperature scaling 0.005"]);
  assert.equal(rows["logit gap (training)"][0], "4.2 ± 0.7");
  assert.equal(rows["logit gap (training)"][1], "theory ln(1 + K(1 − ε)/ε) = 4.69 at ε = 0.1");
  assert.equal(rows["classes in the plane"][0], "class 3, class 7, class 10");
  assert.equal(rows["similar-class share (class 3 / class 7)"][1], "0.0909 = wrong mass spread evenly");
  const none = Object.fromEntries(summaryRows(report({ eps: null, gap: { ...report().gap, theory: null } })).map((r) => [r[0], r[2]]));
  assert.equal(none["logit gap (training)"], "give ε to compare");
  const zero = Object.fromEntries(summaryRows(report({ eps: 0, gap: { ...report().gap, theory: null } })).map((r) => [r[0], r[2]]));
  assert.equal(zero["logit gap (training)"], "ε = 0: no finite optimum");
  const bound = Object.fromEntries(summaryRows(report({ temperature_at_bound: true })).map((r) => [r[0], r[2]]));
  assert.match(bound["temperature T"], /at its bound/);
});
