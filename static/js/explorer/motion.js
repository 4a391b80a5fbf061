/** Motion between server frames: the template-plane positions move from where they are drawn to the newest
frame's over one frame period, so 10 frames/s from the server still move at the display's refresh rate.

The motion is linear in time: when frames arrive at a steady rate each one starts as the previous one
ends, so points keep an even speed (an ease-in-out would pulse at the frame rate). A frame that arrives
mid-way starts from the positions drawn at that moment, so nothing jumps. A snap (a reset, a new display
subsample, a paused run) puts the positions exactly on the frame's, with no motion. Pure: no DOM, so
tests/js runs it in Node.
*/

export const MIN_PERIOD_MS = 1000 / 120; // a frame period is never taken shorter than this ...
export const MAX_PERIOD_MS = 1_000; // ... nor longer (at fps 1, one second of motion, then still)

/** The period between received frames: the median of the last few arrival intervals. */
export class FramePeriod {
  constructor(size = 9) {
    this.size = size;
    this.times = [];
  }

  /** A frame arrived at `now` (ms). */
  arrive(now) {
    this.times.push(now);
    if (this.times.length > this.size + 1) this.times.shift();
  }

  /** The estimated period in ms, or 0 until two frames have arrived. */
  get ms() {
    const t = this.times;
    if (t.length < 2) return 0;
    const gaps = [];
    for (let i = 1; i < t.length; i++) gaps.push(t[i] - t[i - 1]);
    gaps.sort((a, b) => a - b);
    const mid = gaps.length >> 1;
    const median = gaps.length % 2 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
    return Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, median));
  }

  /** Forget the arrivals (a pause or a reset: the next gap says nothing about the frame rate). */
  reset() {
    this.times = [];
  }
}

/** Positions (a flat array of coordinates) moving linearly from `from` to `to` between t0 and t0 + duration. */
export class Tween {
  constructor() {
    this.from = null;
    this.to = null;
    this.current = null; // the positions at the last at(): what is drawn
    this.t0 = 0;
    this.duration = 0;
    this.settled = true; // current holds `to` exactly
    this.changed = false; // a snap not drawn yet
  }

  /** Move to `target` (any array of numbers) from the positions at `now`, over `duration` ms; a duration of 0,
  no previous target or a different length jumps there at once (a snap). */
  retarget(target, now, duration) {
    const n = target.length;
    if (!this.to || this.to.length !== n || !(duration > 0)) {
      this.from = Float64Array.from(target);
      this.to = Float64Array.from(target);
      this.current = Float64Array.from(target);
      this.duration = 0;
      this.t0 = now;
      this.settled = true;
      this.changed = true;
      return;
    }
    this.at(now);
    this.from.set(this.current);
    this.to.set(target);
    this.t0 = now;
    this.duration = duration;
    this.settled = false;
    this.changed = true;
  }

  /** Share of the way at `now`: 0 at the start, 1 at the end. */
  progress(now) {
    if (!(this.duration > 0)) return 1;
    return Math.min(1, Math.max(0, (now - this.t0) / this.duration));
  }

  /** Update `current` to the positions at `now`; true when they differ from the last call's (draw again). */
  at(now) {
    if (!this.to) return false;
    if (this.settled) {
      const changed = this.changed;
      this.changed = false;
      return changed;
    }
    const u = this.progress(now);
    if (u >= 1) {
      this.current.set(this.to);
      this.settled = true;
    } else {
      const { from, to, current } = this;
      for (let i = 0; i < to.length; i++) current[i] = from[i] + (to[i] - from[i]) * u;
    }
    this.changed = false;
    return true;
  }

  /** Forget everything: the next target is a snap. */
  clear() {
    this.from = this.to = this.current = null;
    this.settled = true;
    this.changed = false;
  }
}
