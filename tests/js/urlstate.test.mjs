import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { FIELDS, queryFor, readUrl } = await page("explorer/urlstate.js");

const DEFAULTS = { dataset: "blobs", points: 600, similarity: 0, label_noise: 0, ordered: false, seed: 0, hidden: 32,
  penultimate: 8, eps: 0.1, lr: 0.01, optimizer: "adam", weight_decay: 0, batch_size: 128, device: "auto", display_points: 300 };
const SCENARIOS = [{ key: "noisy", title: "Noisy labels", config: { label_noise: 0.2, eps: 0.2 }, speed: 5, look_for: "flipped" }];

test("defaults only: the page's fields, paused, nothing hidden", () => {
  const s = readUrl(DEFAULTS, SCENARIOS, "");
  assert.deepEqual(Object.keys(s.settings).sort(), Object.keys(FIELDS).sort());
  assert.equal(s.settings.points, 600);
  assert.equal(s.settings.speed, 3);
  assert.equal(s.settings.fps, 30);
  assert.equal(s.scenario, null);
  assert.equal(s.play, false);
  assert.deepEqual(s.hide, []);
});

test("a scenario, then explicit parameters over it; it plays unless play=0", () => {
  const s = readUrl(DEFAULTS, SCENARIOS, "?scenario=noisy&seed=7&eps=0.35");
  assert.equal(s.scenario, "noisy");
  assert.equal(s.settings.label_noise, 0.2);
  assert.equal(s.settings.eps, 0.35);
  assert.equal(s.settings.seed, 7);
  assert.equal(s.settings.speed, 5);
  assert.equal(s.play, true);
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "?scenario=noisy&play=0").play, false);
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "?scenario=nope").scenario, null);
});

test("values that do not parse keep the default; booleans and hide= aliases", () => {
  const s = readUrl(DEFAULTS, SCENARIOS, "?points=many&ordered=yes&hide=noise,%CE%B5,seed&lr=1e-3");
  assert.equal(s.settings.points, 600);
  assert.equal(s.settings.ordered, true);
  assert.equal(s.settings.lr, 0.001);
  assert.deepEqual(s.hide, ["label_noise", "eps", "seed"]);
});

test("queryFor writes every field and reads back to the same state", () => {
  const state = readUrl(DEFAULTS, SCENARIOS, "?scenario=noisy&seed=11&hide=lr");
  const query = queryFor(state);
  const params = new URLSearchParams(query);
  for (const name of Object.keys(FIELDS)) assert.ok(params.has(name), name);
  assert.equal(params.get("ordered"), "0");
  assert.equal(params.get("play"), "1");
  assert.deepEqual(readUrl(DEFAULTS, SCENARIOS, `?${query}`), state);
});

test("at=N: a step from 0 to 20,000; anything else is an error and no step", () => {
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "?scenario=noisy&at=600").at, 600);
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "?scenario=noisy&at=600").atError, null);
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "?at=0").at, 0);
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "?at=20000").at, 20_000);
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "").at, null);
  assert.equal(readUrl(DEFAULTS, SCENARIOS, "").atError, null);
  for (const bad of ["-1", "20001", "1.5", "abc", "", "1e3", "0x10"]) {
    const s = readUrl(DEFAULTS, SCENARIOS, `?at=${encodeURIComponent(bad)}`);
    assert.equal(s.at, null, bad);
    assert.match(s.atError, /not a step from 0 to 20,000/, bad);
  }
});

test("queryFor adds at= only when asked, and it reads back", () => {
  const state = readUrl(DEFAULTS, SCENARIOS, "?scenario=noisy");
  assert.equal(new URLSearchParams(queryFor(state)).has("at"), false);
  const query = queryFor(state, false, 1200);
  assert.equal(new URLSearchParams(query).get("at"), "1200");
  assert.equal(readUrl(DEFAULTS, SCENARIOS, `?${query}`).at, 1200);
});
