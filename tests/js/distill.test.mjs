import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { History, RUNS, distillMessage, formatProb, phaseView, pointShare, probsFrom } = await page("distill/view.js");

const lab = (phase, teacherStep, studentStep) => ({
  phase, teacher_step: teacherStep, student_step: studentStep, teacher_steps: 100, student_steps: 50,
});
/** A frame header's runs: teachers measured at `t`, students at `s`. */
const header = (d, t, s, value = 0.5) => ({
  distill: d,
  runs: RUNS.map((name, i) => ({ name, metrics: { steps: i < 2 ? t : s, similar_share: value + i / 10 } })),
});

test("the phases in words and how far each has come", () => {
  const early = phaseView(lab("teachers", 25, 0));
  assert.equal(early.label, "teachers");
  assert.equal(early.teachers, 0.25);
  assert.equal(early.students, 0);
  assert.match(early.hint, /step 25 of 100/);
  const late = phaseView(lab("students", 100, 10));
  assert.deepEqual([late.teachers, late.students], [1, 0.2]);
  assert.match(late.hint, /frozen/);
  assert.match(phaseView(lab("done", 100, 50)).hint, /Restart/);
});

test("the history keeps teachers on their steps and students after them", () => {
  const h = new History();
  h.add(header(lab("teachers", 10, 0), 10, 0));
  h.add(header(lab("teachers", 10, 0), 10, 0)); // the same measurement again: skipped
  h.add(header(lab("teachers", 40, 0), 40, 0));
  assert.deepEqual(h.series("teacher/baseline", "similar_share"), { x: [10, 40], y: [0.5, 0.5] });
  assert.deepEqual(h.series("student/smoothed", "similar_share").x, []); // untrained students are not drawn
  h.add(header(lab("students", 100, 20), 100, 20));
  assert.deepEqual(h.series("student/smoothed", "similar_share"), { x: [120], y: [0.8] });
  assert.deepEqual(h.series("teacher/smoothed", "similar_share").x, [10, 40, 100]);
  h.add(header(lab("students", 100, 15), 100, 15)); // the students went back (a divergence undone)
  assert.deepEqual(h.series("student/baseline", "similar_share").x, [115]);
  h.add(header({ ...lab("teachers", 5, 0), teacher_steps: 300 }, 5, 0)); // a new lab: start again
  assert.deepEqual(h.series("teacher/baseline", "similar_share").x, [5]);
});

test("a point's share comes from log-probabilities at any scale", () => {
  const lp = [Math.log(0.7), Math.log(0.2), Math.log(0.1)];
  assert.ok(Math.abs(pointShare(lp, 0, [0, 1]) - 2 / 3) < 1e-12);
  assert.ok(Math.abs(pointShare(lp, 1, [0, 1]) - 0.7 / 0.8) < 1e-12);
  assert.ok(Math.abs(pointShare([0, -200, -210], 0, [0, 1]) - 1 / (1 + Math.exp(-10))) < 1e-12);
  assert.equal(pointShare([0, -5, null], 0, [0, 1]), 1);
  assert.deepEqual(probsFrom([0, null]), [1, 0]);
});

test("probabilities as the bars label them", () => {
  assert.equal(formatProb(0.934), "0.93");
  assert.equal(formatProb(0.0345), "0.035");
  assert.equal(formatProb(4.12e-7), "4.1e-7");
  assert.equal(formatProb(0), "0");
});

test("the distill control carries the teachers' config and the lab's settings", () => {
  const form = { dataset: "blobs", similarity: 0.5, seed: 3, eps: 0.2, lr: 0.01, temperature: 2, alpha: 0.1,
    teacher_steps: 300, student_steps: 200, student_hidden: 8, student_penultimate: 4, speed: 20 };
  assert.deepEqual(distillMessage(form, 150), {
    type: "distill", config: { dataset: "blobs", similarity: 0.5, seed: 3, eps: 0.2, lr: 0.01, display_points: 150 },
    temperature: 2, alpha: 0.1, teacher_steps: 300, student_steps: 200, student_hidden: 8, student_penultimate: 4,
  });
});
