import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { runConfig, serverRunsOurs } = await page("explorer/runstart.js");

const SETTINGS = { dataset: "blobs", points: 600, similarity: 0, label_noise: 0, ordered: false, seed: 0, hidden: 32,
  penultimate: 8, optimizer: "adam", eps: 0.1, lr: 0.01, speed: 3, fps: 30 };
const HELLO = { mode: "twin", step: 0, diverged: false, eps: 0.1, lr: 0.01, speed: 3, fps: 30,
  config: { dataset: "blobs", points: 600, similarity: 0, label_noise: 0, ordered: false, seed: 0, hidden: 32,
    penultimate: 8, optimizer: "adam" } };

test("a reset sends every run field, ε and the learning rate, not the live speed and fps", () => {
  const config = runConfig(SETTINGS);
  assert.equal(config.eps, 0.1);
  assert.equal(config.lr, 0.01);
  assert.equal(config.points, 600);
  assert.ok(!("speed" in config) && !("fps" in config));
});

test("a fresh session that runs the page's settings is kept; any difference, a later step or another mode is not", () => {
  assert.equal(serverRunsOurs(HELLO, runConfig(SETTINGS)), true);
  assert.equal(serverRunsOurs({ ...HELLO, eps: 0.2 }, runConfig(SETTINGS)), false);
  assert.equal(serverRunsOurs({ ...HELLO, step: 5 }, runConfig(SETTINGS)), false);
  assert.equal(serverRunsOurs({ ...HELLO, mode: "sweep" }, runConfig(SETTINGS)), false);
  assert.equal(serverRunsOurs({ ...HELLO, config: { ...HELLO.config, seed: 1 } }, runConfig(SETTINGS)), false);
  assert.equal(serverRunsOurs(null, runConfig(SETTINGS)), false);
});
