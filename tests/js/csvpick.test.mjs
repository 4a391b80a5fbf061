import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { datasetMessage, decodeBytes, latin1, readDataParams, sizeProblem, summaryLines, writeDataParams } =
  await page("lib/csvpick.js");
const { csvCell, toCsv } = await page("lib/download.js");

test("a file's bytes: UTF-8 with its BOM dropped, else Latin-1 byte for byte (as the server's decode)", () => {
  const utf8 = new TextEncoder().encode("é,x\n");
  assert.equal(decodeBytes(utf8), "é,x\n");
  assert.equal(decodeBytes(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8])), "é,x\n");
  assert.equal(decodeBytes(new Uint8Array([0x63, 0x61, 0x66, 0xe9])), "café");
  const all = new Uint8Array(256).map((_, i) => i);
  const text = latin1(all);
  assert.equal(text.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(text.charCodeAt(i), i); // 0x80–0x9f too: not windows-1252
  const big = new Uint8Array(20_000).fill(0xe9);
  assert.equal(latin1(big), "é".repeat(20_000));
});

test("the size limit: refused in the reader's words", () => {
  const limit = 5 * 2 ** 20;
  assert.equal(sizeProblem(limit, limit), null);
  assert.equal(sizeProblem(6 * 2 ** 20 + 22, limit), "the file is 6.0 MB; the explorer reads files of at most 5 MB");
});

test("the dataset message has its type first (the server's cap reads it there)", () => {
  const msg = datasetMessage({ name: "a.csv", text: "x,y", label: "y", config: { seed: 1 } });
  assert.ok(JSON.stringify(msg).startsWith('{"type":"dataset",'));
  assert.deepEqual(msg, { type: "dataset", name: "a.csv", csv: "x,y", label: "y", config: { seed: 1 } });
  assert.deepEqual(datasetMessage({ name: "p", example: "penguins" }), { type: "dataset", name: "p", example: "penguins", config: {} });
});

test("a link's file: data=csv:<16 hex> or example:<key>, label and three classes, both ways", () => {
  const params = new URLSearchParams();
  writeDataParams(params, { kind: "csv", sha256: "0123456789abcdef", label: "kind", classes: ["a,b", "c&d", "e"] });
  const back = readDataParams(new URLSearchParams(params.toString()));
  assert.deepEqual(back, { kind: "csv", sha256: "0123456789abcdef", label: "kind", classes: ["a,b", "c&d", "e"] });
  assert.deepEqual(readDataParams(new URLSearchParams("data=example:penguins")),
    { kind: "example", example: "penguins", label: null, classes: null });
  for (const bad of ["data=csv:xyz", "data=csv:0123456789ABCDEF", "data=file:abc", "data=example:../x", ""]) {
    assert.equal(readDataParams(new URLSearchParams(bad)), null, bad);
  }
  assert.equal(readDataParams(new URLSearchParams("data=csv:0123456789abcdef&class=a&class=b")).classes, null);
});

test("the summary in words", () => {
  const lines = Object.fromEntries(summaryLines({
    used: 342, rows: 344, train: 227, validation: 115, delimiter: "comma", features: ["a", "b"], label: "species",
    classes: [{ name: "A", rows: 1500 }, { name: "B", rows: 2 }, { name: "C", rows: 3 }],
    dropped: { missing: 2, not_finite: 1 }, other_classes: 0, ignored: [],
  }));
  assert.equal(lines.rows, "342 used of 344 (227 training, 115 validation; comma-separated)");
  assert.equal(lines.features, "2: a, b");
  assert.equal(lines.classes, "A (1,500), B (2), C (3)");
  assert.equal(lines["left out"], "rows: 2 with a missing value, 1 with an infinite value");
  assert.equal(lines.ignored, "no columns");
});

test("exported CSV cells: formulas defused with a leading ', numbers kept, quoting where needed (OWASP)", () => {
  for (const [value, cell] of [["=1+1", "'=1+1"], ["+plus", "'+plus"], ["-x", "'-x"], ["@SUM(A1)", "'@SUM(A1)"],
    ["\tt", "'\tt"], ["\rr", "\"'\rr\""], ["=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""], ["a,b", "\"a,b\""],
    [-0.5, "-0.5"], [0, "0"], [null, ""], [undefined, ""], ["plain", "plain"]]) {
    assert.equal(csvCell(value), cell, String(value));
  }
  assert.equal(toCsv(["step", "=evil"], [[1, "-2"], [-3, null]]), "step,'=evil\n1,'-2\n-3,\n");
});
