/** The run's metric history: one entry per measurement (the server measures every few frames), with CSV and JSON export. */

import { toCsv } from "../lib/download.js";

const CAP = 20_000; // beyond this, every other old entry is dropped (the run keeps its shape)

/** The step a frame's metrics were measured at (frames in between carry the last measurement again). */
export function measuredStep(frame) {
  const runs = Object.values(frame.runs);
  const steps = runs.length && runs[0].metrics ? runs[0].metrics.steps : undefined;
  return Number.isFinite(steps) ? steps : frame.step;
}

/** What identifies one measurement: its step and the values that a live change (ε, lr) alters at the same step. */
function signature(frame) {
  return Object.values(frame.runs).map((run) => {
    const m = run.metrics || {};
    return `${m.steps}|${m.eps}|${m.train_loss}|${m.val_loss}|${m.ece}`;
  }).join(";");
}

export class MetricHistory {
  constructor() {
    this.entries = [];
    this.lastSignature = null;
  }

  /** Record a frame's metrics. Returns "new" (a new entry), "replaced" (the newest entry measured again at
  the same step, e.g. after ε changed while paused) or null (no new measurement in this frame). */
  push(frame) {
    const sig = signature(frame);
    if (sig === this.lastSignature) return null;
    this.lastSignature = sig;
    const entry = this.entry(frame);
    const last = this.entries[this.entries.length - 1];
    if (last && last.step === entry.step) {
      this.entries[this.entries.length - 1] = entry; // same step, newer ε: keep the latest
      return "replaced";
    }
    this.entries.push(entry);
    if (this.entries.length > CAP) {
      const half = CAP / 2;
      this.entries = this.entries.slice(0, half).filter((_, i) => i % 2 === 0).concat(this.entries.slice(half));
    }
    return "new";
  }

  /** The newest entry, or null. */
  get last() {
    return this.entries.length ? this.entries[this.entries.length - 1] : null;
  }

  entry(frame) {
    const out = { step: measuredStep(frame) };
    for (const [name, run] of Object.entries(frame.runs)) out[name] = run.metrics;
    return out;
  }

  clear() {
    this.entries = [];
    this.lastSignature = null;
  }

  /** One row per entry: step, then run_metric columns. */
  toCSV() {
    const runs = this.entries.length ? Object.keys(this.entries[0]).filter((k) => k !== "step") : [];
    const keys = {};
    for (const run of runs) {
      const seen = new Set();
      for (const e of this.entries) for (const k of Object.keys(e[run] || {})) seen.add(k);
      keys[run] = [...seen];
    }
    const header = ["step", ...runs.flatMap((run) => keys[run].map((k) => `${run}_${k}`))];
    const rows = this.entries.map((e) => [e.step, ...runs.flatMap((run) => keys[run].map((k) => (e[run] ? e[run][k] : null)))]);
    return toCsv(header, rows);
  }

  toJSON(settings) {
    return JSON.stringify({ settings, history: this.entries }, null, 1);
  }
}
