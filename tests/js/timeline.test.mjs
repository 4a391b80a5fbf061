import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { CAP_BYTES, RECENT_MS, Timeline, spacing } = await page("explorer/timeline.js");

/** Push `seconds` of frames at `fps`, `bytes` each, `stepsPerFrame` steps apart; returns the end time. */
function run(t, { seconds, fps = 30, bytes = 12_000, stepsPerFrame = 3, start = 0, firstStep = 0 }) {
  const n = Math.round(seconds * fps);
  for (let i = 0; i < n; i++) t.push({ step: firstStep + i * stepsPerFrame }, bytes, start + (i * 1000) / fps);
  return start + (n * 1000) / fps;
}

test("spacing: every frame in the last minute, one a second to ten minutes, one per ten seconds beyond", () => {
  assert.equal(spacing(0), 0);
  assert.equal(spacing(RECENT_MS), 0);
  assert.equal(spacing(RECENT_MS + 1), 1_000);
  assert.equal(spacing(10 * RECENT_MS + 1), 10_000);
});

test("an hour of history stays under the cap, with every frame of the last minute", () => {
  const t = new Timeline();
  const end = run(t, { seconds: 3600 });
  assert.ok(t.bytes <= CAP_BYTES, `${t.bytes} bytes`);
  assert.equal(t.bytes, t.entries.reduce((s, e) => s + e.bytes, 0));
  const lastMinute = t.entries.filter((e) => e.time > end - RECENT_MS);
  assert.ok(lastMinute.length >= 30 * 60 - 2, `${lastMinute.length} frames in the last minute`);
  assert.equal(t.at(0).step, 0, "the first frame stays");
  assert.equal(t.last.step, (3600 * 30 - 1) * 3, "the newest frame stays");
  for (let i = 1; i < t.length; i++) assert.ok(t.at(i).step > t.at(i - 1).step);
  // thinned before: about one a second up to ten minutes back, one per ten seconds beyond
  assert.ok(t.length < 1800 + 600 + 400, `${t.length} entries`);
});

test("an hour of large frames is held to the cap, oldest thinned first", () => {
  const t = new Timeline();
  run(t, { seconds: 3600, bytes: 100_000 });
  assert.ok(t.bytes <= CAP_BYTES, `${t.bytes} bytes`);
  assert.ok(t.length > 100);
  assert.equal(t.last.step, (3600 * 30 - 1) * 3);
});

test("the cap holds even when one minute of frames exceeds it", () => {
  const t = new Timeline({ capBytes: 1_000_000 });
  run(t, { seconds: 60, bytes: 10_000 });
  assert.ok(t.bytes <= 1_000_000);
  assert.ok(t.length >= 50);
});

test("the same step replaces the newest entry; a step back starts again", () => {
  const t = new Timeline();
  t.push({ step: 0 }, 10, 0);
  t.push({ step: 3 }, 10, 10);
  t.push({ step: 3, again: true }, 20, 20);
  assert.equal(t.length, 2);
  assert.equal(t.bytes, 30);
  assert.equal(t.last.frame.again, true);
  t.push({ step: 0 }, 5, 30);
  assert.equal(t.length, 1);
  assert.equal(t.bytes, 5);
});

test("indexAtStep and indexAtTime find the newest entry at or before", () => {
  const t = new Timeline();
  for (let i = 0; i < 10; i++) t.push({ step: i * 10, regions: i % 3 === 0 }, 1, i * 100);
  assert.equal(t.indexAtStep(-5), 0);
  assert.equal(t.indexAtStep(0), 0);
  assert.equal(t.indexAtStep(35), 3);
  assert.equal(t.indexAtStep(1e9), 9);
  assert.equal(t.indexAtTime(450), 4);
  assert.equal(t.findBack(5, (f) => f.regions).step, 30);
  assert.equal(new Timeline().indexAtStep(3), -1);
});
