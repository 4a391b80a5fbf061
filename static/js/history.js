/** The run's metric history, one entry per frame received, with CSV and JSON export. */

const CAP = 20_000; // beyond this, every other old entry is dropped (the run keeps its shape)

export class MetricHistory {
  constructor() {
    this.entries = [];
  }

  /** Record a frame's metrics; returns the new entry, or null when this step is already recorded. */
  push(frame) {
    const last = this.entries[this.entries.length - 1];
    if (last && last.step === frame.step) {
      this.entries[this.entries.length - 1] = this.entry(frame); // same step, newer ε: keep the latest
      return null;
    }
    const entry = this.entry(frame);
    this.entries.push(entry);
    if (this.entries.length > CAP) {
      const half = CAP / 2;
      this.entries = this.entries.slice(0, half).filter((_, i) => i % 2 === 0).concat(this.entries.slice(half));
    }
    return entry;
  }

  entry(frame) {
    const out = { step: frame.step };
    for (const [name, run] of Object.entries(frame.runs)) out[name] = run.metrics;
    return out;
  }

  clear() {
    this.entries = [];
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
    const rows = this.entries.map((e) => [e.step, ...runs.flatMap((run) => keys[run].map((k) => {
      const v = e[run] ? e[run][k] : null;
      return v === null || v === undefined ? "" : v;
    }))].join(","));
    return [header.join(","), ...rows].join("\n") + "\n";
  }

  toJSON(settings) {
    return JSON.stringify({ settings, history: this.entries }, null, 1);
  }
}

/** Offer text as a file download. */
export function download(text, filename, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}
