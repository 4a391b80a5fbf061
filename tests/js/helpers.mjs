// Shared by the Node tests: paths into the repository and a hand-built binary frame (docs/protocol.md).
import { readFileSync } from "node:fs";

export const ROOT = new URL("../../", import.meta.url);
export const STATIC = new URL("static/js/", ROOT);

/** A module of the page, by its path under static/js/. */
export const page = (path) => import(new URL(path, STATIC).href);

/** JSON from the repository, by its path. */
export const readJson = (path) => JSON.parse(readFileSync(new URL(path, ROOT), "utf8"));

/** A binary frame: uint32 LE header length, the JSON header, zero padding to a multiple of 8, then each
array at its offset (4-byte aligned) from the start of the data section. arrays: [{name, dtype, shape, values}]. */
export function buildFrame(header, arrays) {
  const specs = [];
  let offset = 0;
  for (const a of arrays) {
    const size = a.values.length * (a.dtype === "u1" ? 1 : 4);
    specs.push({ name: a.name, dtype: a.dtype, shape: a.shape, offset });
    offset += Math.ceil(size / 4) * 4;
  }
  const json = new TextEncoder().encode(JSON.stringify({ ...header, arrays: specs }));
  const lead = 4 + json.length;
  const start = lead + ((8 - (lead % 8)) % 8);
  const buffer = new ArrayBuffer(start + offset);
  new DataView(buffer).setUint32(0, json.length, true);
  new Uint8Array(buffer, 4, json.length).set(json);
  arrays.forEach((a, i) => {
    const Kind = a.dtype === "u1" ? Uint8Array : Float32Array;
    new Kind(buffer, start + specs[i].offset, a.values.length).set(a.values);
  });
  return { buffer, start, headerLength: json.length };
}
