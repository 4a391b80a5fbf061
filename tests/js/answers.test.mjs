import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { answeredText, clock, distribution, errorText, followingText, storeLine, sweepSeries, theoryGap } = await page("host/answers.js");

const CHOICE = { kind: "choice", prompt: "A or B?", choices: ["A", "B", "C"], answer: "B", why: "" };
const NUMBER = { kind: "number", prompt: "Where?", unit: "", tolerance: 0.25, answer: 3.33, why: "" };

test("a choice question: one bar per choice in the lesson's order, those nobody chose included", () => {
  const rows = distribution(CHOICE, { B: 3, A: 1 });
  assert.deepEqual(rows.map((r) => [r.label, r.count, r.right]), [["A", 1, false], ["B", 3, true], ["C", 0, false]]);
  assert.equal(rows[1].share, 0.75);
  assert.deepEqual(distribution(CHOICE, { B: 3 }, false).map((r) => r.right), [false, false, false]);
  assert.deepEqual(distribution(CHOICE, {}).map((r) => r.share), [0, 0, 0]);
  assert.deepEqual(distribution(null, { A: 1 }), []);
});

test("a number question: one bar per number typed, in order; many numbers binned, the answer's bin marked", () => {
  const rows = distribution(NUMBER, { 3.3: 2, 10: 1, 1: 1 });
  assert.deepEqual(rows.map((r) => [r.label, r.count, r.right]), [["1", 1, false], ["3.3", 2, true], ["10", 1, false]]);
  const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [String(i), 1]));
  const bins = distribution(NUMBER, many);
  assert.equal(bins.length, 8);
  assert.equal(bins.reduce((n, b) => n + b.count, 0), 20); // every answer counted once
  assert.deepEqual(bins.filter((b) => b.right).map((b) => b.label), ["2.375 – 4.75"]);
  assert.equal(bins[7].count > 0, true); // the largest value lands in the last bin
});

test("counts in words", () => {
  assert.equal(answeredText(1), "1 answer");
  assert.equal(answeredText(12), "12 answers");
  assert.equal(followingText({ following: 20, attendees: 25 }), "20 of 25 attendees following");
  assert.equal(followingText({ following: 1, attendees: 1 }), "1 of 1 attendee following");
});

test("the room store's health: nothing while it answers, the time it stopped once it does not", () => {
  assert.equal(storeLine({ kind: "embedded", ok: true, since: null }), null);
  assert.equal(storeLine(undefined), null);
  const since = new Date(2024, 0, 1, 14, 2, 11).getTime() / 1000;
  assert.equal(clock(since), "14:02:11");
  assert.equal(storeLine({ kind: "redis", ok: false, since }), "room store unreachable since 14:02:11");
  assert.equal(storeLine({ kind: "redis", ok: false, since: null }), "room store unreachable");
});

test("a refused command is said in the server's words", () => {
  assert.equal(errorText(409, { error: "this is the last step" }), "this is the last step");
  assert.equal(errorText(422, { detail: [{ loc: ["body", "action"], msg: "Input should be 'start'" }] }),
    "the server refused it (422): action: Input should be 'start'");
  assert.equal(errorText(500, null), "the server answered 500");
  assert.equal(errorText(0, null), "the server did not answer: is it running?");
});

test("the room's sweep: attendees sorted by ε, a metric not measured yet left out; the theory falls with ε", () => {
  const series = sweepSeries([{ eps: 0.5, val_acc: 1, val_ece: 0.3, gap: 1.4 }, { eps: 0, val_acc: 1, val_ece: 0.01, gap: null },
    { eps: null, val_acc: 0.5 }]);
  assert.equal(series.count, 2);
  assert.deepEqual(series.val_acc, [[0, 1], [0.5, 1]]);
  assert.deepEqual(series.gap, [[0.5, 1.4]]);
  assert.deepEqual(sweepSeries(undefined).gap, []);
  const curve = theoryGap(0.5);
  assert.ok(curve[0][0] > 0 && curve.at(-1)[0] === 0.5);
  assert.ok(Math.abs(curve.at(-1)[1] - Math.log(4)) < 1e-12); // ln(1 + 3·0.5/0.5) = ln 4
  assert.ok(curve.every((p, i) => i === 0 || p[1] < curve[i - 1][1]));
});
