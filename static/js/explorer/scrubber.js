/** The timeline's wiring: the scrubber under the panels (over the steps the timeline keeps, at the newest while
live), a past frame shown while training goes on, ← / → through the history, and the replay at 0.25–4×. */

import { $, setText } from "../lib/dom.js";

/** timeline: explorer/timeline.js; renderer: explorer/render.js; picker: explorer/picker.js (the card follows). */
export class Scrubber {
  constructor(timeline, renderer, picker) {
    this.timeline = timeline;
    this.renderer = renderer;
    this.picker = picker;
    this.past = null; // the timeline entry shown (null: live)
    this.replay = null; // {clock: history time shown, last: performance.now() of the last tick} while replaying
    this.tick = (now) => this.replayTick(now);
  }

  /** The slider, the step shown and the live button, as they stand. */
  show() {
    const { timeline } = this;
    const slider = $("timeline");
    const first = timeline.at(0);
    const last = timeline.last;
    slider.min = String(first ? first.step : 0);
    slider.max = String(last ? last.step : 0);
    slider.disabled = timeline.length < 2;
    const shown = this.past || last;
    if (!this.past || document.activeElement !== slider) slider.value = String(shown ? shown.step : 0);
    setText($("timeline-step"), shown ? shown.step : 0);
    const live = $("timeline-live");
    live.setAttribute("aria-pressed", String(!this.past));
    live.classList.toggle("active", !this.past);
    $("timeline-bar").classList.toggle("past", Boolean(this.past));
  }

  /** Show timeline entry i (the newest: live again). */
  showEntry(i) {
    const { timeline } = this;
    if (i < 0 || i >= timeline.length) return;
    if (i === timeline.length - 1) {
      this.goLive();
      return;
    }
    this.past = timeline.at(i);
    const regions = timeline.findBack(i, (f) => Boolean(f.extent && f.runs.baseline && f.runs.baseline.region_class));
    this.renderer.showPast(this.past.frame, regions ? regions.frame : null);
    this.picker.showFrame(this.past.frame);
    this.show();
  }

  goLive() {
    this.past = null;
    this.stopReplay();
    this.renderer.showLive();
    if (this.renderer.latest) this.picker.showInspected(this.renderer.latest);
    this.show();
  }

  /** Forget the past frame shown (the run was cleared). */
  clear() {
    this.past = null;
    this.stopReplay();
    this.show();
  }

  /** ← / →: an earlier or later frame of the history; true when it moved. */
  move(delta) {
    const { timeline } = this;
    if (!timeline.length) return false;
    const here = this.past ? timeline.indexAtStep(this.past.step) : timeline.length - 1;
    const to = Math.max(0, Math.min(timeline.length - 1, here + delta));
    if (delta > 0 && !this.past) return false; // live already: → steps
    this.stopReplay();
    this.showEntry(to);
    return true;
  }

  stopReplay() {
    this.replay = null;
    const button = $("replay");
    button.textContent = "▶ replay";
    button.setAttribute("aria-pressed", "false");
  }

  /** ▶: replay the history from the frame shown (from the oldest when live) at the chosen speed. */
  startReplay() {
    const { timeline } = this;
    if (timeline.length < 2) return;
    const from = this.past ? timeline.indexAtStep(this.past.step) : 0;
    this.showEntry(from);
    this.replay = { clock: timeline.at(from).time, last: performance.now() };
    const button = $("replay");
    button.textContent = "❚❚ replay";
    button.setAttribute("aria-pressed", "true");
    requestAnimationFrame(this.tick);
  }

  replayTick(now) {
    const { replay, timeline } = this;
    if (!replay) return;
    const rate = Number($("replay-rate").value) || 1;
    replay.clock += (now - replay.last) * rate;
    replay.last = now;
    const i = timeline.indexAtTime(replay.clock);
    if (i >= timeline.length - 1) {
      this.goLive();
      return;
    }
    if (!this.past || timeline.at(i).step !== this.past.step) this.showEntry(i);
    requestAnimationFrame(this.tick);
  }

  bind() {
    const slider = $("timeline");
    slider.addEventListener("input", () => {
      this.stopReplay();
      const step = Number(slider.value);
      const last = this.timeline.last;
      if (!last || step >= last.step) this.goLive();
      else this.showEntry(this.timeline.indexAtStep(step));
    });
    $("timeline-live").addEventListener("click", () => this.goLive());
    $("replay").addEventListener("click", () => (this.replay ? this.stopReplay() : this.startReplay()));
  }
}
