/** Binary frame decoding (docs/protocol.md): uint32 LE header length, JSON header, padding, typed arrays. */

const DECODER = new TextDecoder();

/** Decode one binary frame into {header, arrays: {name: Float32Array|Uint8Array}}; arrays view the buffer. */
export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(DECODER.decode(new Uint8Array(buffer, 4, headerLength)));
  const lead = 4 + headerLength;
  const start = lead + ((8 - (lead % 8)) % 8);
  const arrays = {};
  for (const spec of header.arrays || []) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const Kind = spec.dtype === "u1" ? Uint8Array : Float32Array;
    arrays[spec.name] = new Kind(buffer, start + spec.offset, count);
  }
  return { header, arrays };
}

/** A frame as the explorer uses it: step, the smoothed run's ε, and per-run metrics, reliability and
arrays by run name ("baseline", "smoothed"; a sweep's "eps=0.1" ...). */
export function frameView(buffer) {
  const { header, arrays } = decodeFrame(buffer);
  const runs = {};
  header.runs.forEach((run, i) => {
    const prefix = `${i}.`;
    const own = {};
    for (const [name, arr] of Object.entries(arrays)) {
      if (name.startsWith(prefix)) own[name.slice(prefix.length)] = arr;
    }
    runs[run.name] = {
      name: run.name, eps: run.eps, metrics: run.metrics, reliability: run.reliability,
      reliabilityScaled: run.reliability_ts || null, ...own,
    };
  });
  return {
    step: header.step,
    eps: runs.smoothed ? runs.smoothed.eps : null,
    header,
    runs,
    labels: arrays.labels,
    trueLabels: arrays.true_labels,
    flipped: arrays.flipped,
    inputs: arrays.inputs || null,
    extent: header.extent || null,
  };
}
