// Shared by the Node tests: paths into the repository and a hand-built binary frame (docs/protocol.md).
import { readFileSync } from "node:fs";

export const ROOT = new URL("../../", import.meta.url);
export const STATIC = new URL("static/js/", ROOT);

/** A module of the page, by its path under static/js/. */
export const page = (path) => import(new URL(path, STATIC).href);

/** JSON from the repository, by its path. */
export const readJson = (path) => JSON.parse(readFileSync(new URL(path, ROOT), "utf8"));

/** A binary frame (docs/protocol.md): uint32 LE header length, uint32 LE frame number, the JSON header (with the
layout as "arrays": [[name, dtype, shape], ...]), zero padding to a multiple of 8, then the arrays back to back,
each padded to 4 bytes. arrays: [{name, dtype, shape, values}]. */
export function buildFrame(header, arrays, seq = 1) {
  const KINDS = { f4: Float32Array, i2: Int16Array, i1: Int8Array, u1: Uint8Array };
  const sizes = arrays.map((a) => Math.ceil((a.values.length * KINDS[a.dtype].BYTES_PER_ELEMENT) / 4) * 4);
  const json = new TextEncoder().encode(JSON.stringify({ ...header, arrays: arrays.map((a) => [a.name, a.dtype, a.shape]) }));
  const lead = 8 + json.length;
  const start = lead + ((8 - (lead % 8)) % 8);
  const buffer = new ArrayBuffer(start + sizes.reduce((a, b) => a + b, 0));
  const view = new DataView(buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, seq, true);
  new Uint8Array(buffer, 8, json.length).set(json);
  let offset = start;
  arrays.forEach((a, i) => {
    new KINDS[a.dtype](buffer, offset, a.values.length).set(a.values);
    offset += sizes[i];
  });
  return { buffer, start, headerLength: json.length };
}
