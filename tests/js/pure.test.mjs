// The small pure helpers: close codes and backoff, the shared chart layout, ε's display format.
import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const { backoff, closeKind, closeReason, newBrowserId, socketUrl } = await page("lib/socket.js");
const { baseLayout, rgba } = await page("lib/plots.js");
const { formatEps } = await page("explorer/controls.js");

test("close codes: refused, full and idle are not retried by themselves; their reasons", () => {
  assert.equal(closeKind(1008), "refused");
  assert.equal(closeKind(1013), "full");
  assert.equal(closeKind(4000), "idle");
  assert.equal(closeKind(1006), "lost");
  assert.equal(closeKind(1012), "lost");
  assert.equal(closeReason(1013, ""), "The explorer is full. Try again in a minute.");
  assert.equal(closeReason(1013, "The explorer is full (2/2)."), "The explorer is full (2/2).");
  assert.equal(closeReason(1006, ""), "");
});

test("reconnect backoff doubles from 0.5 s up to 8 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(backoff), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  assert.equal(socketUrl({ protocol: "https:", host: "x.org:8443" }), "wss://x.org:8443/ws");
  assert.equal(socketUrl({ protocol: "http:", host: "127.0.0.1:8000" }), "ws://127.0.0.1:8000/ws");
});

test("a page names its browser on the socket (one answer per browser): a random id the server accepts", () => {
  assert.equal(socketUrl({ protocol: "http:", host: "h:1" }, "abcDEF12_-"), "ws://h:1/ws?browser=abcDEF12_-");
  const id = newBrowserId((n) => Uint8Array.from({ length: n }, (_, i) => i * 37)); // the page's: crypto.getRandomValues
  assert.match(id, /^[A-Za-z0-9]{22}$/);
  assert.equal(newBrowserId((n) => new Uint8Array(n)), "A".repeat(22));
});

test("baseLayout merges one level deep and keeps the shared axis look", () => {
  const layout = baseLayout({ yaxis: { type: "log" }, margin: { r: 74 }, hovermode: false });
  assert.equal(layout.yaxis.type, "log");
  assert.equal(layout.yaxis.fixedrange, true);
  assert.equal(layout.xaxis.type, undefined);
  assert.deepEqual(layout.margin, { l: 56, r: 74, t: 10, b: 40 });
  assert.equal(layout.hovermode, false);
  assert.equal(baseLayout().showlegend, false);
  assert.equal(rgba("#c2185b", 0.5), "rgba(194,24,91,0.5)");
});

test("ε is shown with two decimals, more when typed finer", () => {
  assert.equal(formatEps(0.1), "0.10");
  assert.equal(formatEps(0.125), "0.125");
  assert.equal(formatEps(0), "0.00");
  assert.equal(formatEps(null), "–");
});
