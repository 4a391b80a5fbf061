import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { ago, network, rate, refusedWhy, roomTexts, roundTrip, workerRow } = await page("host/format.js");

const ROOM = {
  sessions: 3, max_sessions: 60, playing: 2, fps_cap: 30, fps_min: 28.4, fps_median: 29.7, fps_asked_median: 30,
  steps_per_s_median: 89.66, errors_last_minute: 0, refused_last_minute: 3,
  refused_by_reason: { full: 2, code: 1, origin: 0 }, device: "cpu", cpus: 2, send_mbps: 12.43, room_mbps: null,
  ack_rtt_ms_median: 37.6, ack_rtt_ms_max: 412.2,
  workers: [{ pid: 11, sessions: 2, cpu_percent: 41.2 }, { pid: 12, sessions: 1, cpu_percent: null }],
};

test("rates: one decimal below 100, none above, a dash when nobody plays", () => {
  assert.equal(rate(29.66), "29.7");
  assert.equal(rate(1234.5), "1235");
  assert.equal(rate(null), "–");
  assert.equal(rate(undefined), "–");
  assert.equal(rate(Number.NaN), "–");
});

test("refusals are named by reason, zeros left out", () => {
  assert.equal(refusedWhy(ROOM.refused_by_reason), "last minute: full 2 · code 1");
  assert.equal(refusedWhy({ full: 0 }), "in the last minute");
  assert.equal(refusedWhy(undefined), "in the last minute");
});

test("one answer gives every text of the page", () => {
  const texts = roomTexts(ROOM);
  assert.equal(texts["room-sessions"], "3");
  assert.equal(texts["room-fps"], "29.7");
  assert.equal(texts["room-fps-min"], "28.4");
  assert.equal(texts["room-steps"], "89.7");
  assert.equal(texts["room-refused"], "3");
  assert.equal(roomTexts({ ...ROOM, fps_median: null })["room-fps"], "–");
  assert.equal(texts["room-send"], "12.4");
  assert.equal(texts["room-rtt"], "38 ms");
  assert.equal(texts["room-rtt-max"], "412 ms");
});

test("the network tile: what is sent, against the budget when there is one; round trips in whole ms", () => {
  assert.equal(network({ send_mbps: 38.25, room_mbps: 40 }), "38.3 of 40.0");
  assert.equal(network({ send_mbps: 0, room_mbps: null }), "0.0");
  assert.equal(network({}), "–");
  assert.equal(roundTrip(null), "–");
  assert.equal(roundTrip(1234.4), "1234 ms");
});

test("worker rows: CPU rounded, none before the first measurement", () => {
  assert.deepEqual(workerRow(ROOM.workers[0]), ["11", "2", 41]);
  assert.deepEqual(workerRow(ROOM.workers[1]), ["12", "1", null]);
});

test("updated: now, then seconds ago", () => {
  assert.equal(ago(400), "now");
  assert.equal(ago(3200), "3 s ago");
});
