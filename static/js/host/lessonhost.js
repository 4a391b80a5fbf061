/** The host's lesson controls on /host (templates/_host_lesson.html): pick a lesson and start it, move the room
(previous, next, go to a step), pause and resume it, reveal the answers, spread ε, end; the step shown with its
question, the number of answers and of attendees following, and the distribution (for the host only until the
reveal). Every command is POST /api/lesson (docs/protocol.md, "Lessons"); the attendee link's address is
POST /api/public-url, and the join panel is then drawn again from the page the server renders. */

import { $, setText } from "../lib/dom.js";
import { answeredText, distribution, errorText, followingText } from "./answers.js";
import { drawDistribution } from "./dist.js";

/** POST JSON to the host's API: {ok, body}; a refusal's words in `error`. */
export async function post(path, body) {
  let response;
  try {
    response = await fetch(path, { method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  } catch {
    return { ok: false, error: errorText(0, null) };
  }
  const data = await response.json().catch(() => null);
  return response.ok ? { ok: true, body: data } : { ok: false, error: errorText(response.status, data) };
}

/** Fill a <select> with a lesson's steps ("3 · Can the smoothed loss reach zero?"), keeping its choice. */
function stepOptions(select, titles, selected = null) {
  const keep = selected ?? (Number(select.value) || 1);
  select.replaceChildren(...titles.map((title, i) => new Option(`${i + 1} · ${title}`, String(i + 1))));
  select.value = String(Math.min(Math.max(keep, 1), titles.length || 1));
}

export class LessonHost {
  /** onChange(lesson): a command's answer (the page shows it at once, before its next refresh). */
  constructor(onChange) {
    this.onChange = onChange;
    this.lessons = []; // GET /api/lessons
    this.lesson = null; // /api/room's lesson
    this.version = 0; // the newest lesson state shown (its `version`)
    this.busy = false;
  }

  async load() {
    try {
      const response = await fetch("/api/lessons", { credentials: "same-origin" });
      this.lessons = response.ok ? await response.json() : [];
    } catch {
      this.lessons = [];
    }
    const pick = $("lesson-pick");
    pick.replaceChildren(...this.lessons.map((l) => new Option(`${l.title} (${l.steps} steps)`, l.name)));
    $("lesson-start").disabled = !this.lessons.length;
    this.picked();
    if (!this.lessons.length) this.error("No lessons found on the server (app/lessons/data, LESSONS_DIR).");
  }

  /** The lesson chosen in the list: its summary and its steps to start at. */
  picked() {
    const lesson = this.lessons.find((l) => l.name === $("lesson-pick").value);
    const summary = $("lesson-summary");
    summary.innerHTML = lesson ? lesson.summary : ""; // the server's safe Markdown subset (app/lessons/markdown.py)
    stepOptions($("lesson-start-step"), lesson ? lesson.titles : [], 1);
  }

  bind() {
    $("lesson-pick").addEventListener("change", () => this.picked());
    $("lesson-start-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.command({ action: "start", lesson: $("lesson-pick").value, step: Number($("lesson-start-step").value) || 1 });
    });
    for (const button of document.querySelectorAll(".lesson-host [data-action]")) {
      button.addEventListener("click", () => this.command({ action: button.dataset.action }));
    }
    $("lesson-pause").addEventListener("click", () => this.command({ action: this.lesson && this.lesson.paused ? "resume" : "pause" }));
    $("lesson-goto-go").addEventListener("click", () => this.command({ action: "goto", step: Number($("lesson-goto").value) }));
    $("lesson-error-close").addEventListener("click", () => this.error(null));
    $("public-url-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.keepAddress($("public-url").value.trim());
    });
  }

  async command(body) {
    if (this.busy) return;
    this.busy = true;
    const result = await post("/api/lesson", body);
    this.busy = false;
    if (!result.ok) {
      this.error(result.error);
      return;
    }
    this.error(null);
    this.onChange(result.body.lesson);
  }

  /** A refusal in words, or null to clear it. */
  error(message) {
    $("lesson-error").hidden = message === null;
    setText($("lesson-error-text"), message || "");
  }

  /** The lesson as /api/room reports it (null: none runs). */
  render(lesson) {
    if (lesson && lesson.version < this.version) return; // a refresh that left before the last command's answer
    if (lesson) this.version = lesson.version;
    this.lesson = lesson;
    const running = Boolean(lesson);
    $("lesson-start-form").hidden = running;
    $("lesson-live").hidden = !running;
    if (!running) return;
    const meta = this.lessons.find((l) => l.name === lesson.name);
    setText($("lesson-name"), lesson.title);
    setText($("lesson-step"), lesson.step);
    setText($("lesson-steps"), lesson.steps);
    setText($("lesson-step-title"), lesson.content.title);
    $("lesson-prev").disabled = lesson.step <= 1;
    $("lesson-next").disabled = lesson.step >= lesson.steps;
    const goto = $("lesson-goto");
    if (meta && (goto.options.length !== meta.titles.length || goto.dataset.lesson !== lesson.name)) {
      goto.dataset.lesson = lesson.name;
      stepOptions(goto, meta.titles, lesson.step);
    }
    const pause = $("lesson-pause");
    setText(pause, lesson.paused ? "resume the room" : "pause the room");
    pause.setAttribute("aria-pressed", String(lesson.paused));
    pause.classList.toggle("primary", lesson.paused);
    $("lesson-paused-badge").hidden = !lesson.paused;
    $("lesson-revealed-badge").hidden = !lesson.revealed;
    const q = lesson.question;
    $("lesson-reveal").disabled = !q || lesson.revealed;
    setText($("lesson-spread"), lesson.spread ? "spread ε again" : "spread ε");
    setText($("lesson-prompt"), q ? q.prompt : "This step asks no question.");
    setText($("lesson-answered"), answeredText(lesson.answered));
    setText($("lesson-following"), followingText(lesson));
    $("lesson-dist").hidden = !q;
    $("lesson-dist-note").hidden = !q;
    setText($("lesson-dist-note"), lesson.revealed ? "Revealed: the projector shows the answers and the right one."
      : "For you only: hidden on the projector until you reveal.");
    if (q) drawDistribution($("lesson-dist"), distribution(q, lesson.answers, true));
  }

  /** Keep the address attendees use (empty: forget it), then draw the join panel again from the server's page. */
  async keepAddress(url) {
    const note = $("public-url-note");
    const result = await post("/api/public-url", { url });
    if (!result.ok) {
      note.classList.add("bad");
      setText(note, result.error);
      return;
    }
    note.classList.remove("bad");
    $("public-url").value = result.body.public_url || "";
    this.showAddress(result.body.public_url); // (PUBLIC_URL, when the typed one is forgotten: the next refresh says it)
    await redrawJoin();
  }

  /** What /api/room says the attendee link's address is (typed here and kept, else PUBLIC_URL), unless a refusal shows. */
  showAddress(publicUrl) {
    const note = $("public-url-note");
    if (!note.classList.contains("bad")) {
      setText(note, publicUrl ? `kept: ${publicUrl}` : "none kept: the link is this machine's own address");
    }
  }
}

/** The join panel (QR codes and link, drawn by the server: app/server/join.py) from a fresh copy of this page. */
export async function redrawJoin() {
  try {
    const response = await fetch(location.pathname + location.search, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("join-codes");
    if (fresh) $("join-codes").replaceChildren(...fresh.childNodes);
  } catch {
    // the next visit shows it
  }
}
