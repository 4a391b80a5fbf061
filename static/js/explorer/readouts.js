/** Text read-outs under the panels and charts: accuracy, logit gap, loss, ECE, temperature. */

import { $, setText } from "../lib/dom.js";

const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);
const num = (v, digits = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

/** Set text only when it changed. */
function put(id, text) {
  setText($(id), text);
}

/** Update every read-out from one frame's metrics. */
export function readouts(frame) {
  const b = frame.runs.baseline.metrics;
  const s = frame.runs.smoothed.metrics;
  for (const [id, m] of [["readout-baseline", b], ["readout-smoothed", s]]) {
    const clean = m.train_acc_clean !== undefined && m.train_acc_clean !== null ? ` (clean ${pct(m.train_acc_clean)})` : "";
    const floor = m.eps > 0 ? ` · floor ${num(m.loss_floor)}` : "";
    const optimum = m.optimal_logit_gap !== null && m.optimal_logit_gap !== undefined ? ` (optimum ${num(m.optimal_logit_gap, 2)})` : "";
    put(id, `train acc ${pct(m.train_acc)}${clean} · val acc ${pct(m.val_acc)} · logit gap ${num(m.logit_gap, 2)}${optimum} · loss ${num(m.train_loss)}${floor}`);
  }
  put("readout-confidence",
    `val accuracy: one-hot ${pct(b.val_acc)}, smoothed ${pct(s.val_acc)} · ECE: one-hot ${num(b.ece)}, smoothed ${num(s.ece)}`);
  const t = b.temperature !== null && b.temperature !== undefined ? ` (T = ${num(b.temperature, 2)})` : "";
  const bound = b.temperature_at_bound
    ? (b.val_acc === 1
      ? " Every validation point is classified right, so sharpening always lowers the NLL: T runs to its bound and the scaled ECE to 0. Temperature scaling only tells something when the model makes mistakes (try the similar-classes scenario)."
      : " T is at the end of its search range (0.05–20).")
    : "";
  put("readout-calibration",
    `ECE: one-hot ${num(b.ece)} · smoothed ${num(s.ece)} · one-hot + temperature scaling ${num(b.ece_ts)}${t}, fitted on validation NLL. ` +
    `Mean confidence: ${num(b.mean_confidence, 2)} vs ${num(s.mean_confidence, 2)}; val accuracy ${pct(b.val_acc)} vs ${pct(s.val_acc)}.${bound}`);
}
