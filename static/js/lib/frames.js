/** Binary frames (docs/protocol.md): uint32 LE header length, uint32 LE frame number, the JSON header, zero
padding to a multiple of 8, then the arrays back to back (each padded to 4 bytes) in the order of the layout.

A connection's frames are a stream that sends only what the page does not have yet (app/protocol/frames.py
writes it): the run's labels and inputs once, the array layout once, positions on a grid as differences,
predicted classes when they change, metrics when measured. `FrameDecoder` (one per socket) reads every frame
in order and gives each one whole, as the pages use it. */

const DECODER = new TextDecoder();
const KINDS = { f4: Float32Array, i2: Int16Array, i1: Int8Array, u1: Uint8Array };
const STATICS = ["labels", "true_labels", "flipped", "inputs"]; // sent once per run
const CONF_LEVELS = 63; // decision regions: the max probability on 6 bits over [1/3, 1]

/** The number of a binary frame (what an acknowledgement names), without decoding it. */
export function frameNumber(buffer) {
  return new DataView(buffer).getUint32(4, true);
}

/** Decode the container of one frame: {seq, header, arrays: {name: typed array viewing the buffer}}. `layouts` (a
Map, per stream) receives the layouts frames carry and gives the ones they name. */
export function decodeFrame(buffer, layouts = new Map()) {
  const view = new DataView(buffer);
  const headerLength = view.getUint32(0, true);
  const seq = view.getUint32(4, true);
  const header = JSON.parse(DECODER.decode(new Uint8Array(buffer, 8, headerLength)));
  let specs = header.arrays;
  delete header.arrays;
  if (header.layout !== undefined) {
    if (specs) layouts.set(header.layout, specs);
    else if (!layouts.has(header.layout)) throw new Error(`frame ${seq} uses layout ${header.layout}, not sent on this stream`);
    specs = layouts.get(header.layout);
  }
  const lead = 8 + headerLength;
  let offset = lead + ((8 - (lead % 8)) % 8);
  const arrays = {};
  for (const [name, dtype, shape] of specs || []) {
    const Kind = KINDS[dtype];
    const count = shape.reduce((a, b) => a * b, 1);
    arrays[name] = new Kind(buffer, offset, count);
    offset += Math.ceil((count * Kind.BYTES_PER_ELEMENT) / 4) * 4;
  }
  return { seq, header, arrays };
}

/** Two int4 values a byte (low nibble first) → `count` numbers. */
export function unpackNibbles(packed, count) {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const nibble = (packed[i >> 1] >> ((i & 1) * 4)) & 15;
    out[i] = (nibble ^ 8) - 8;
  }
  return out;
}

/** Classes at 2 bits each, four a byte → `count` classes. */
export function unpackClasses(packed, count) {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (packed[i >> 2] >> ((i & 3) * 2)) & 3;
  return out;
}

/** A decision-region cell byte (class in the top 2 bits, max probability on 6) → [classes, round(255 · p)]. */
export function unpackRegions(packed) {
  const cls = new Uint8Array(packed.length);
  const conf = new Uint8Array(packed.length);
  for (let i = 0; i < packed.length; i++) {
    cls[i] = packed[i] >> 6;
    conf[i] = Math.round(255 * (1 / 3 + ((packed[i] & CONF_LEVELS) / CONF_LEVELS) * (2 / 3)));
  }
  return [cls, conf];
}

/** Reads one connection's frames in order and gives each whole (the Python twin: app/protocol/frames.py). */
export class FrameDecoder {
  constructor() {
    this.layouts = new Map();
    this.run = null;
    this.statics = {};
    this.kept = []; // per run index: coordinates, confidence, predictions, the last metrics
  }

  /** A frame as the pages use it: step, the smoothed run's ε, the header (every run's metrics and bins filled in
  from the last frame that measured them), and per-run arrays by run name ("baseline", "smoothed"; a sweep's
  "eps=0.1" ...): points, templates, pred, confidence, class_distances, and region_class/region_conf on frames
  with decision regions. `measured`: the runs whose metrics this frame measured; `retained`: bytes it keeps. */
  decode(buffer) {
    const { seq, header, arrays } = decodeFrame(buffer, this.layouts);
    if (header.run !== this.run) {
      this.run = header.run;
      this.statics = {};
      this.kept = [];
    }
    for (const name of STATICS) if (arrays[name]) this.statics[name] = arrays[name];
    const runs = {};
    const measured = [];
    let retained = buffer.byteLength;
    header.runs.forEach((entry, i) => {
      const kept = this.kept[i] || (this.kept[i] = {});
      if (entry.metrics) {
        measured.push(entry.name);
        Object.assign(kept, { metrics: entry.metrics, reliability: entry.reliability, reliabilityScaled: entry.reliability_ts || null,
          classDistances: arrays[`${i}.class_distances`] });
      } else {
        Object.assign(entry, { metrics: kept.metrics, reliability: kept.reliability });
        if (kept.reliabilityScaled) entry.reliability_ts = kept.reliabilityScaled;
      }
      const xy = positions(i, entry, arrays, kept);
      retained += xy.byteLength;
      const count = xy.length / 2 - 3;
      if (arrays[`${i}.conf`]) kept.confidence = arrays[`${i}.conf`];
      if (arrays[`${i}.pred`]) kept.pred = unpackClasses(arrays[`${i}.pred`], count);
      const run = {
        name: entry.name, eps: entry.eps, metrics: kept.metrics, reliability: kept.reliability,
        reliabilityScaled: kept.reliabilityScaled, points: xy.subarray(0, 2 * count), templates: xy.subarray(2 * count),
        pred: kept.pred, confidence: kept.confidence, class_distances: kept.classDistances, scale: entry.scale,
      };
      if (arrays[`${i}.regions`]) [run.region_class, run.region_conf] = unpackRegions(arrays[`${i}.regions`]);
      runs[entry.name] = run;
    });
    return {
      seq, step: header.step, eps: runs.smoothed ? runs.smoothed.eps : null, header, runs, measured, retained,
      labels: this.statics.labels, trueLabels: this.statics.true_labels, flipped: this.statics.flipped,
      inputs: this.statics.inputs || null, extent: header.extent || null,
    };
  }
}

/** Run i's positions (its points, then its three templates) as floats, from the grid coordinates or differences. */
function positions(i, entry, arrays, kept) {
  if (arrays[`${i}.xyf`]) {
    kept.q = null;
    return Float32Array.from(arrays[`${i}.xyf`]);
  }
  let q;
  if (arrays[`${i}.xy`]) {
    q = Int32Array.from(arrays[`${i}.xy`]);
  } else if (kept.q && (arrays[`${i}.dxy`] || arrays[`${i}.d4xy`])) {
    const d = arrays[`${i}.dxy`] || unpackNibbles(arrays[`${i}.d4xy`], kept.q.length);
    q = new Int32Array(kept.q.length);
    for (let k = 0; k < q.length; k++) q[k] = kept.q[k] + d[k];
  } else {
    throw new Error(`run ${i}: positions as differences, but no earlier frame of this run`);
  }
  kept.q = q;
  const xy = new Float32Array(q.length);
  for (let k = 0; k < q.length; k++) xy[k] = q[k] * entry.scale;
  return xy;
}
