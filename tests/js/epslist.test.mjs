import assert from "node:assert/strict";
import { test } from "node:test";
import { page, readJson } from "./helpers.mjs";

const { EpsListError, describeEps, parseEpsList, sameEps } = await page("lib/epslist.js");
const CASES = readJson("tests/cases/eps_lists.json");
const RULE = { maxModels: CASES.max_models, min: 0, max: 1 };

for (const c of CASES.cases) {
  test(`the shared case ${JSON.stringify(c.input)}`, () => {
    if ("error" in c) {
      assert.throws(() => parseEpsList(c.input, RULE), (err) => err instanceof EpsListError && err.kind === c.error);
    } else {
      assert.deepEqual(parseEpsList(c.input, RULE), c.values);
    }
  });
}

test("the limits come from the caller (the server's boot data)", () => {
  assert.throws(() => parseEpsList("0, 0.1, 0.2", { maxModels: 2 }), { kind: "too many" });
  assert.throws(() => parseEpsList("0:0.3:0.1", { maxModels: 3 }), { kind: "too many" });
  assert.deepEqual(parseEpsList("0.6, 0.8", { maxModels: 5, min: 0, max: 0.8 }), [0.6, 0.8]);
  assert.throws(() => parseEpsList("0.9", { maxModels: 5, min: 0, max: 0.8 }), /between 0 and 0.8/);
});

test("list values are rounded to 10 decimals before duplicates are removed", () => {
  assert.deepEqual(parseEpsList("0.30000000000000004, 0.3", RULE), [0.3]);
});

test("messages a user reads", () => {
  assert.throws(() => parseEpsList("0:2:0.5", RULE), /ε must be between 0 and 1 \(got 1.5\)/);
  assert.throws(() => parseEpsList("0, x", RULE), /“x” is not a number/);
  assert.equal(describeEps(parseEpsList("0:0.5:0.05", RULE)), "11 models: ε = 0, 0.05, 0.1, …, 0.5");
  assert.equal(describeEps([0.1]), "1 model: ε = 0.1");
});

test("sameEps compares to 1e-9", () => {
  assert.ok(sameEps([0, 0.1], [0, 0.1 + 1e-12]));
  assert.ok(!sameEps([0, 0.1], [0, 0.2]));
  assert.ok(!sameEps([0], [0, 0.1]));
  assert.ok(!sameEps(null, []));
});
