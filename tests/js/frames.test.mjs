import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ROOT, buildFrame, page, readJson } from "./helpers.mjs";

const { FrameDecoder, decodeFrame, frameNumber, unpackClasses, unpackNibbles } = await page("lib/frames.js");

/** The stream the server recorded (tests/support/frame_stream.py): its frames, each an ArrayBuffer of its own. */
function recordedStream() {
  const data = readFileSync(new URL("tests/cases/frame_stream/stream.bin", ROOT));
  const out = [];
  for (let at = 0; at < data.length;) {
    const n = data.readUInt32LE(at);
    out.push(data.buffer.slice(data.byteOffset + at + 4, data.byteOffset + at + 4 + n));
    at += 4 + n;
  }
  return out;
}

test("the page decodes the server's recorded stream exactly as the server's decoder does", () => {
  const expected = readJson("tests/cases/frame_stream/decoded.json");
  const stream = recordedStream();
  assert.equal(stream.length, expected.length);
  const decoder = new FrameDecoder();
  stream.forEach((buffer, i) => {
    const frame = decoder.decode(buffer);
    const want = expected[i];
    const where = `frame ${i}`;
    assert.equal(frame.seq, want.seq, where);
    assert.equal(frameNumber(buffer), want.seq, where);
    assert.equal(frame.header.run, want.run, where);
    assert.equal(frame.step, want.step, where);
    assert.equal(frame.eps, want.eps, where);
    assert.deepEqual(frame.measured, want.measured, where);
    assert.deepEqual(Array.from(frame.labels), want.arrays.labels, where);
    assert.deepEqual(Array.from(frame.flipped), want.arrays.flipped, where);
    assert.deepEqual(frame.inputs ? Array.from(frame.inputs) : null, want.arrays.inputs ? want.arrays.inputs.flat() : null, where);
    assert.deepEqual(Object.keys(frame.runs), Object.keys(want.runs), where);
    for (const [name, run] of Object.entries(want.runs)) {
      const got = frame.runs[name];
      assert.deepEqual(Array.from(got.points), run.points.flat(), `${where} ${name} points`); // float32, bit for bit
      assert.deepEqual(Array.from(got.templates), run.templates.flat(), `${where} ${name} templates`);
      assert.deepEqual(Array.from(got.pred), run.pred, `${where} ${name} pred`);
      assert.deepEqual(Array.from(got.confidence), run.confidence, `${where} ${name} confidence`);
      assert.deepEqual(Array.from(got.class_distances), run.class_distances.flat(), `${where} ${name} distances`);
      assert.equal(got.metrics.train_loss, run.train_loss, `${where} ${name} train_loss`);
      assert.equal(frame.header.runs.find((r) => r.name === name).metrics, got.metrics); // the header is filled in
      if (run.region_class) {
        assert.deepEqual(Array.from(got.region_class), run.region_class, `${where} ${name} regions`);
        assert.deepEqual(Array.from(got.region_conf), run.region_conf, `${where} ${name} region confidence`);
      } else {
        assert.equal(got.region_class, undefined, where);
      }
    }
  });
});

test("a frame from the middle of a stream cannot be read alone: it says why", () => {
  const stream = recordedStream();
  assert.throws(() => new FrameDecoder().decode(stream[2]), /layout|earlier frame/);
});

test("the data section starts at a multiple of 8 after the header, each array 4-byte aligned", () => {
  const arrays = [
    { name: "a", dtype: "u1", shape: [3], values: [1, 2, 3] },
    { name: "b", dtype: "i2", shape: [3], values: [-300, 0, 300] },
    { name: "c", dtype: "i1", shape: [2], values: [-5, 7] },
    { name: "d", dtype: "f4", shape: [2], values: [0.5, -1.25] },
  ];
  for (const extra of ["", "x", "xx", "xxx", "xxxx", "xxxxx", "xxxxxx", "xxxxxxx"]) {
    const { buffer, start } = buildFrame({ step: 1, pad: extra, layout: 1 }, arrays, 7);
    assert.equal(start % 8, 0);
    const { seq, header, arrays: got } = decodeFrame(buffer);
    assert.equal(seq, 7);
    assert.equal(header.pad, extra);
    for (const a of arrays) assert.deepEqual(Array.from(got[a.name]), a.values, a.name);
  }
});

test("a layout is sent once and named after; an unknown one is an error", () => {
  const layouts = new Map();
  const arrays = [{ name: "x", dtype: "u1", shape: [2], values: [4, 5] }];
  decodeFrame(buildFrame({ layout: 3 }, arrays).buffer, layouts); // carries layout 3
  const json = new TextEncoder().encode(JSON.stringify({ layout: 3 })); // names it only, then its bytes
  const later = new ArrayBuffer(8 + json.length + ((8 - ((8 + json.length) % 8)) % 8) + 4);
  new DataView(later).setUint32(0, json.length, true);
  new Uint8Array(later, 8, json.length).set(json);
  new Uint8Array(later, later.byteLength - 4, 2).set([6, 7]);
  assert.deepEqual(Array.from(decodeFrame(later, layouts).arrays.x), [6, 7]);
  assert.throws(() => decodeFrame(later, new Map()), /layout 3/); // a stream that never had it
});

test("nibbles and packed classes unpack as the server packs them", () => {
  assert.deepEqual(Array.from(unpackNibbles(Uint8Array.from([0x87, 0x0f]), 3)), [7, -8, -1]);
  assert.deepEqual(Array.from(unpackClasses(Uint8Array.from([0b10010010, 0b01]), 5)), [2, 0, 1, 2, 1]);
});
