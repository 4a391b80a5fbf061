/** The run's frame history behind the timeline: every frame of the last minute, thinned before it, within
a memory cap. Pure: no DOM (tests/js/timeline.test.mjs runs it in Node).

Entries are {step, time, bytes, frame}, oldest first, steps never decreasing. Older than `recentMs` an
entry is kept only if it comes at least `spacing(age)` after the entry kept before it: one a second up
to ten minutes back, one every ten seconds beyond. Past `capBytes` (50 MB: about 1,500 frames of the
default 300 points per run), every other entry of the older half goes, until the history fits; the
last minute goes last. At the default 30 frames/s, an hour is about 1,800 + 540 + 300 entries.
*/

export const RECENT_MS = 60_000; // every frame is kept this long
export const CAP_BYTES = 50 * 1024 * 1024;
const THIN_EVERY_MS = 1_000; // the thinning walk runs at most this often

/** The least time between two kept entries of this age (ms). */
export function spacing(ageMs, recentMs = RECENT_MS) {
  if (ageMs <= recentMs) return 0;
  if (ageMs <= 10 * recentMs) return 1_000;
  return 10_000;
}

export class Timeline {
  constructor({ recentMs = RECENT_MS, capBytes = CAP_BYTES } = {}) {
    this.recentMs = recentMs;
    this.capBytes = capBytes;
    this.clear();
  }

  clear() {
    this.entries = [];
    this.bytes = 0;
    this.thinnedAt = -Infinity;
  }

  get length() {
    return this.entries.length;
  }

  /** The newest entry, or null. */
  get last() {
    return this.entries.length ? this.entries[this.entries.length - 1] : null;
  }

  /** Entry i (0 = oldest). */
  at(i) {
    return this.entries[i] || null;
  }

  /** Record a frame of `bytes` bytes at time `now` (ms). A frame of the step already newest replaces it
  (a live change shown again at the same step); a step before the newest starts the history again. */
  push(frame, bytes, now) {
    const step = frame.step;
    const last = this.last;
    if (last && step < last.step) this.clear();
    const entry = { step, time: now, bytes, frame };
    if (this.last && this.last.step === step) {
      this.bytes += bytes - this.last.bytes;
      this.entries[this.entries.length - 1] = entry;
    } else {
      this.entries.push(entry);
      this.bytes += bytes;
    }
    if (now - this.thinnedAt >= THIN_EVERY_MS) this.thin(now);
    while (this.bytes > this.capBytes && this.entries.length > 1) this.halveOlder();
    return entry;
  }

  /** Drop the entries older than the last minute that come too soon after the one kept before them. */
  thin(now) {
    this.thinnedAt = now;
    const kept = [];
    let bytes = 0;
    const n = this.entries.length;
    for (let i = 0; i < n; i++) {
      const e = this.entries[i];
      const prev = kept[kept.length - 1];
      if (i > 0 && i < n - 1 && prev && e.time - prev.time < spacing(now - e.time, this.recentMs)) continue;
      kept.push(e);
      bytes += e.bytes;
    }
    this.entries = kept;
    this.bytes = bytes;
  }

  /** Over the cap: every other entry of the older half goes (the oldest and the newest stay). */
  halveOlder() {
    const half = Math.max(2, this.entries.length >> 1);
    const kept = this.entries.filter((_, i) => !(i > 0 && i < half && i % 2 === 1 && i < this.entries.length - 1));
    if (kept.length === this.entries.length) kept.splice(0, 1); // two entries, still too large
    this.entries = kept;
    this.bytes = kept.reduce((sum, e) => sum + e.bytes, 0);
  }

  /** Index of the newest entry at or before `step` (the oldest when all are after it); -1 when empty. */
  indexAtStep(step) {
    const e = this.entries;
    if (!e.length) return -1;
    let lo = 0;
    let hi = e.length - 1;
    if (step < e[0].step) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (e[mid].step <= step) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index of the newest entry at or before time `t` (ms); 0 when all are after it; -1 when empty. */
  indexAtTime(t) {
    const e = this.entries;
    if (!e.length) return -1;
    let lo = 0;
    let hi = e.length - 1;
    if (t < e[0].time) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (e[mid].time <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The newest entry at or before index i whose frame passes `test` (e.g. carries decision regions). */
  findBack(i, test) {
    for (let k = Math.min(i, this.entries.length - 1); k >= 0; k--) if (test(this.entries[k].frame)) return this.entries[k];
    return null;
  }
}
