/** The lesson on a page, self-paced or paced by the host: every page (explorer, calculator, sweep, distill) makes
one LessonPanel and gives it its own hooks. Self-paced (`?lesson=NAME&step=N`): the lesson comes from
GET /api/lessons/NAME; prev / next move through it, the URL follows, a step of another page opens that page.
Paced by the host: the room's `lesson` messages (docs/protocol.md) show the host's step, its question and this
browser's answer; a page that follows goes to the step's page and puts itself in its settings once per step.
The pure rules are lib/lesson.js; the pieces on the page, lib/lessonview.js. */

import {
  lessonHref, pageAt, panelStep, readLessonParams, readNumber, roomHref, roomView, selfPacedProblem,
  withStep,
} from "./lesson.js";
import { EyesOverlay, FollowBar, PanelView } from "./lessonview.js";

const FOLLOW_OFF_KEY = "lse-follow-off"; // localStorage: the lesson this browser chose to explore on its own
const FOLLOW_OFF_MS = 4 * 3600_000; // ... forgotten after a workshop's length (the end of a lesson forgets it too)

/** The lesson this browser left the host's pace in (null: it follows). */
function followOff() {
  try {
    const kept = JSON.parse(localStorage.getItem(FOLLOW_OFF_KEY) || "null");
    return kept && Date.now() - kept.at < FOLLOW_OFF_MS ? kept.lesson : null;
  } catch {
    return null;
  }
}

/** Keep (a lesson's name) or forget (null) that this browser explores on its own. */
function keepFollowOff(lesson) {
  try {
    if (lesson === null) localStorage.removeItem(FOLLOW_OFF_KEY);
    else localStorage.setItem(FOLLOW_OFF_KEY, JSON.stringify({ lesson, at: Date.now() }));
  } catch {
    // the choice holds for this page only
  }
}

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return response.json();
}

/** hooks: apply(settings) puts the page in a step's settings (docs/lessons.md, by page); send(message) → false when
the page has no open socket; roomEps(eps) (optional) shows the ε the host's spread gave this browser (the server set it
already); navigate(href) (optional, for tests) opens another page. */
export class LessonPanel {
  constructor(hooks, page = pageAt(location.pathname)) {
    this.hooks = { navigate: (href) => location.assign(href), roomEps: () => {}, ...hooks };
    this.page = page;
    this.params = readLessonParams(location.search);
    this.lesson = null; // the self-paced lesson (GET /api/lessons/NAME)
    this.loaded = false; // its answer has come (null lesson: there is none of that name)
    this.self = null; // {step, mine, revealed} of the self-paced step shown
    this.room = null; // the last `lesson` message with a lesson running
    this.waiting = this.params.room; // reached by following the host: its first message decides
    this.applied = null; // the room's step (lesson#step) this page put itself in
    this.roomEps = null;
    this.pending = false; // an answer sent, not confirmed yet
    this.error = null;
    this.view = new PanelView({
      prev: () => this.moveSelf(this.self.step - 1),
      next: () => this.moveSelf(this.self.step + 1),
      goto: (step) => this.moveSelf(step),
      choose: (value) => this.choose(value),
      reveal: () => this.revealSelf(),
    });
    this.bar = new FollowBar(() => this.toggleFollow());
    this.eyes = new EyesOverlay();
  }

  /** Whether the page needs a socket for the lesson (a page that opens none otherwise: the calculator, the sweep). */
  get wantsRoom() {
    return Boolean(this.params.lesson) || this.params.room;
  }

  /** Read the URL: fetch a self-paced lesson; a page reached by following waits for the host's step. */
  async start() {
    if (this.waiting) this.bar.show(null, true);
    if (!this.params.lesson) return;
    let lesson = null;
    try { // the list first: an unknown name is said in words, not asked for (a 404 in the console)
      const list = await getJson("/api/lessons");
      if (list.some((l) => l.name === this.params.lesson)) lesson = await getJson(`/api/lessons/${encodeURIComponent(this.params.lesson)}`);
    } catch (err) {
      if (!this.room) this.view.notice("Lesson", `The lesson could not be loaded (${err.message}): the page works without it.`);
      return;
    }
    this.lesson = lesson;
    this.loaded = true;
    if (!this.room && !this.waiting) this.showUrlStep(); // else the host leads
  }

  /** The self-paced step the URL names, or why there is none. */
  showUrlStep() {
    const { lesson, params } = this;
    const problem = selfPacedProblem(lesson, params.lesson, params.step, params.badStep);
    if (problem) this.view.notice(lesson ? lesson.title : "Lesson", problem, Boolean(lesson));
    else this.moveSelf(params.step, true);
  }

  // ---- self-paced ---------------------------------------------------------------------------------------

  /** Show step n of the self-paced lesson (first: the page's own URL asked for it), on its page. */
  moveSelf(n, first = false) {
    const lesson = this.lesson;
    if (!lesson || n < 1 || n > lesson.steps.length) return;
    const step = lesson.steps[n - 1];
    if (step.page !== this.page) {
      this.hooks.navigate(lessonHref(step.page, lesson.name, n));
      return;
    }
    const moved = !this.self || this.self.step !== n;
    this.self = { step: n, mine: null, revealed: false };
    this.error = null;
    history.replaceState(history.state, "", `${location.pathname}?${withStep(location.search, lesson.name, n)}`);
    this.render();
    if (moved || first) this.hooks.apply(step.settings || {});
  }

  revealSelf() {
    this.self.revealed = true;
    this.render();
  }

  // ---- paced by the host ----------------------------------------------------------------------------------

  /** The room's `lesson` message (after hello, and whenever the room moves or this browser answers). */
  receive(msg) {
    this.pending = false;
    const view = roomView(msg, followOff());
    if (!view.active) return this.roomEnded();
    this.waiting = false;
    this.room = msg;
    this.error = null;
    if (view.unfollow) this.hooks.send({ type: "follow", on: false });
    this.bar.show(view);
    this.eyes.set(view.paused);
    if (msg.spread && msg.eps !== null && msg.eps !== this.roomEps) this.hooks.roomEps(msg.eps);
    this.roomEps = msg.spread ? msg.eps : null;
    if (!view.following) {
      this.applied = null; // rejoining puts the page in the host's step again
    } else if (view.page !== this.page) {
      this.hooks.navigate(roomHref(view.page));
      return undefined;
    } else if (view.key !== this.applied) {
      this.applied = view.key;
      this.hooks.apply(msg.content.settings || {});
    }
    this.render();
    return undefined;
  }

  /** No lesson runs (the host ended it, or none was started): the banner, the overlay and the host's panel go. */
  roomEnded() {
    const was = this.room !== null || this.waiting;
    this.room = null;
    this.waiting = false;
    this.applied = null;
    this.roomEps = null;
    keepFollowOff(null);
    this.bar.show(null);
    this.eyes.set(false);
    if (!was) return;
    if (this.params.room) { // the page's address no longer says it follows
      const params = new URLSearchParams(location.search);
      params.delete("room");
      this.params.room = false;
      const query = params.toString();
      history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}`);
    }
    this.error = null;
    if (this.self) this.render();
    else if (this.params.lesson && this.loaded) this.showUrlStep();
    else this.view.hide();
  }

  /** The socket closed: the host's pause no longer holds this page (it shows again on the next message). */
  disconnected() {
    this.eyes.set(false);
  }

  toggleFollow() {
    const view = roomView(this.room, followOff());
    if (!view.active) return;
    keepFollowOff(view.following ? this.room.lesson : null);
    if (!this.hooks.send({ type: "follow", on: !view.following })) {
      this.error = "not connected to the room just now: try again in a moment";
      this.render();
    }
  }

  /** A choice or a typed number: kept on a self-paced page, sent to the room when the host leads. */
  choose(raw) {
    const step = this.shownStep();
    if (!step || !step.question) return;
    const value = step.question.kind === "number" ? readNumber(raw) : raw;
    this.error = value === null ? "type a number (for example 3.3)" : null;
    if (value === null) return this.render();
    if (step.mode === "self") {
      this.self.mine = value;
      return this.render();
    }
    if (this.hooks.send({ type: "answer", step: this.room.step, value })) this.pending = true;
    else this.error = "not connected to the room: your answer was not sent";
    return this.render();
  }

  /** An error message from the server: shown in the panel when it answers an answer just sent (true: handled). */
  failed(message) {
    if (!this.pending) return false;
    this.pending = false;
    this.error = message;
    this.render();
    return true;
  }

  // ---- showing -------------------------------------------------------------------------------------------

  shownStep() {
    if (this.room) return panelStep({ mode: "host", msg: this.room });
    if (this.self && this.lesson) return { ...panelStep({ mode: "self", lesson: this.lesson, step: this.self.step }), ...this.self, step: this.self.step };
    return null;
  }

  render() {
    const step = this.shownStep();
    if (step) this.view.show(step, this.error);
  }
}
