/** The lesson's pieces on a page, built here once for every page (lib/lessonpanel.js drives them; css/lesson.css):
the panel (the step, its text, what to look for, the question, the answer, prev / next), the banner that says the
page follows the host, and the "eyes on the front" overlay while the host pauses the room. Texts marked HTML come
from the server's safe Markdown subset (app/lessons/markdown.py: everything escaped first); the rest is text. */

import { answerText, isRight } from "./lesson.js";

/** An element: tag, attributes (text: its text, html: server-rendered HTML), children. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "html") node.innerHTML = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

/** Where the lesson's pieces go: after the page's header (the panel is fixed at the right on wide screens). */
function mount(node) {
  const header = document.querySelector("body > .topbar");
  if (header) header.after(node);
  else document.body.prepend(node);
}

/** The panel beside the live panels. handlers: prev(), next(), choose(value), reveal() (self-paced: show the
answer), goto(step) (a problem's "go to step 1"). */
export class PanelView {
  constructor(handlers) {
    this.handlers = handlers;
    this.node = el("aside", { class: "lesson-panel card", id: "lesson-panel", "aria-labelledby": "lesson-where",
      "data-testid": "lesson-panel", hidden: true });
    this.where = el("p", { class: "lesson-where", id: "lesson-where", "data-testid": "lesson-where" });
    this.fold = el("button", { type: "button", class: "lesson-fold", "aria-expanded": "true", "aria-controls": "lesson-body",
      "data-testid": "lesson-fold", text: "hide" });
    this.body = el("div", { class: "lesson-body", id: "lesson-body" });
    this.node.append(el("div", { class: "lesson-head" }, this.where, this.fold), this.body);
    this.fold.addEventListener("click", () => this.setFolded(this.fold.getAttribute("aria-expanded") === "true"));
    this.node.addEventListener("keydown", (e) => this.key(e));
    mount(this.node);
    this.step = null;
  }

  /** ← / → move through a self-paced lesson while the focus is in the panel (not in its answer box). */
  key(event) {
    if (!this.step || this.step.mode !== "self" || event.target.tagName === "INPUT") return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const move = { ArrowLeft: "prev", ArrowRight: "next" }[event.key];
    if (!move) return;
    event.preventDefault();
    event.stopPropagation(); // not the explorer's own ← / → (history, one step)
    this.handlers[move]();
  }

  setFolded(folded) {
    this.fold.setAttribute("aria-expanded", String(!folded));
    this.fold.textContent = folded ? "show" : "hide";
    this.body.hidden = folded;
  }

  hide() {
    this.node.hidden = true;
    this.step = null;
    document.body.classList.remove("lesson-on");
  }

  /** A sentence instead of a step (an unknown lesson, a step that is not one, waiting for the host). */
  notice(title, sentence, gotoFirst = false) {
    this.step = null;
    this.where.textContent = title;
    const note = el("p", { class: "lesson-problem", role: "status", "data-testid": "lesson-problem", text: sentence });
    const first = gotoFirst ? el("button", { type: "button", "data-testid": "lesson-first", text: "go to step 1" }) : "";
    if (first) first.addEventListener("click", () => this.handlers.goto(1));
    this.body.replaceChildren(note, first);
    this.open();
  }

  open() {
    this.node.hidden = false;
    document.body.classList.add("lesson-on");
  }

  /** Show a step (lib/lesson.js panelStep: `mine` this browser's answer, `revealed` the answer shown); `error`: a
  sentence about the last answer (the server refused it). */
  show(step, error = null) {
    const focusedTestId = document.activeElement && this.node.contains(document.activeElement)
      ? document.activeElement.dataset.testid : null;
    this.step = step;
    this.where.textContent = `${step.lessonTitle} · step ${step.step} of ${step.steps}`;
    const parts = [
      el("h2", { class: "lesson-title", "data-testid": "lesson-title", text: step.title }),
      el("div", { class: "lesson-text", "data-testid": "lesson-text", html: step.text }),
      el("div", { class: "lesson-look", "data-testid": "lesson-look" },
        el("h3", { text: "What to look for" }), el("div", { html: step.look_for })),
    ];
    if (step.question) parts.push(this.question(step, error));
    if (step.mode === "self") parts.push(this.nav(step));
    this.body.replaceChildren(...parts);
    this.open();
    if (focusedTestId) { // the buttons were rebuilt: the focus stays where it was
      const again = this.node.querySelector(`[data-testid="${focusedTestId}"]`);
      if (again && !again.disabled) again.focus();
      else {
        const title = this.node.querySelector("[data-testid=lesson-title]");
        title.setAttribute("tabindex", "-1");
        title.focus();
      }
    }
  }

  /** The question: choices (buttons) or a number box, what this browser answered, and the answer once shown. */
  question(step, error) {
    const q = step.question;
    const answered = step.mine;
    const known = step.revealed;
    const closed = step.mode === "host" && step.revealed;
    const box = el("section", { class: "lesson-question", "aria-labelledby": "lesson-prompt", "data-testid": "lesson-question" },
      el("h3", { id: "lesson-prompt", text: q.prompt }));
    if (q.kind === "choice") {
      const group = el("div", { class: "lesson-choices", role: "group", "aria-labelledby": "lesson-prompt" });
      q.choices.forEach((choice, i) => {
        const button = el("button", { type: "button", class: "lesson-choice", "aria-pressed": String(answered === choice),
          "data-testid": `lesson-choice-${i + 1}`, disabled: closed, text: choice });
        if (known && choice === q.answer) button.classList.add("right");
        button.addEventListener("click", () => this.handlers.choose(choice));
        group.append(button);
      });
      box.append(group);
    } else {
      const input = el("input", { type: "text", inputmode: "decimal", autocomplete: "off", id: "lesson-number",
        "data-testid": "lesson-number", disabled: closed, value: answered ?? "" });
      const form = el("form", { class: "lesson-number" },
        el("label", { for: "lesson-number", text: "your answer" }), input,
        q.unit ? el("span", { class: "unit", text: q.unit }) : "",
        el("button", { type: "submit", "data-testid": "lesson-send", disabled: closed, text: "answer" }));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.handlers.choose(input.value);
      });
      box.append(form);
    }
    const right = known ? isRight(q, answered) : null;
    const mine = answered === null || answered === undefined ? (closed ? "you did not answer" : "")
      : `your answer: ${answerText(q, answered)}${right === true ? " · right" : right === false ? " · not this time" : ""}`;
    box.append(el("p", { class: `lesson-mine${error ? " bad" : ""}`, role: "status", "data-testid": "lesson-mine",
      text: error || mine }));
    if (step.mode === "self" && !known) {
      const reveal = el("button", { type: "button", class: "lesson-reveal", "data-testid": "lesson-show-answer", text: "show the answer" });
      reveal.addEventListener("click", () => this.handlers.reveal());
      box.append(reveal);
    } else if (!known) {
      box.append(el("p", { class: "hint", text: "Answer before the run plays; the host reveals the answer. You can change yours until then." }));
    }
    if (known && q.answer !== undefined) {
      box.append(el("div", { class: "lesson-answer", "data-testid": "lesson-answer" },
        el("p", {}, el("b", { text: "Answer: " }), answerText(q, q.answer),
          q.kind === "number" && q.tolerance ? ` (± ${answerText({ ...q, unit: "" }, q.tolerance)})` : ""),
        el("div", { class: "lesson-why", html: q.why })));
    }
    return box;
  }

  /** Self-paced: previous and next. */
  nav(step) {
    const prev = el("button", { type: "button", "data-testid": "lesson-prev", disabled: step.step <= 1, text: "← previous" });
    const next = el("button", { type: "button", class: "primary", "data-testid": "lesson-next", disabled: step.step >= step.steps,
      text: "next →" });
    prev.addEventListener("click", () => this.handlers.prev());
    next.addEventListener("click", () => this.handlers.next());
    return el("nav", { class: "lesson-nav", "aria-label": "lesson steps" }, prev,
      el("span", { class: "hint", text: "← → in this panel" }), next);
  }
}

/** The strip under the header while the host leads a lesson. onToggle(): follow or not. */
export class FollowBar {
  constructor(onToggle) {
    this.text = el("span", { class: "follow-text", "data-testid": "follow-text", "aria-live": "polite" });
    this.eps = el("span", { class: "follow-eps", "data-testid": "follow-eps", "aria-live": "polite", hidden: true });
    this.button = el("button", { type: "button", class: "follow-toggle", "data-testid": "follow-toggle" });
    this.node = el("div", { class: "follow-bar", role: "region", "aria-label": "the host's lesson", "data-testid": "follow-bar",
      hidden: true }, this.text, this.eps, this.button);
    this.button.addEventListener("click", () => onToggle());
    mount(this.node);
  }

  /** view: lib/lesson.js roomView (null: hidden); a waiting page says so. */
  show(view, waiting = false) {
    this.node.hidden = !view && !waiting;
    if (!view) {
      this.text.textContent = waiting ? "joining the host's lesson…" : "";
      this.button.hidden = true;
      this.eps.hidden = true;
      return;
    }
    this.node.dataset.following = String(view.following);
    this.text.textContent = view.banner;
    this.button.hidden = false;
    this.button.textContent = view.button;
    this.eps.hidden = !view.spread;
    this.eps.textContent = view.spread || "";
  }
}

/** "Eyes on the front": over the whole page while the host pauses the room; the rest of the page is inert. */
export class EyesOverlay {
  constructor() {
    this.title = el("h2", { id: "eyes-title", tabindex: "-1", text: "Eyes on the front" });
    this.node = el("div", { class: "eyes", role: "dialog", "aria-modal": "true", "aria-labelledby": "eyes-title",
      "aria-describedby": "eyes-text", "data-testid": "eyes-overlay", hidden: true },
    el("div", { class: "eyes-box" }, this.title,
      el("p", { id: "eyes-text", text: "The host has paused the room to talk. Your run waits, and goes on by itself where it was when the host resumes." })));
    document.body.append(this.node);
    this.before = null; // the element that had the focus
    // while it shows, the page's own keys (space: play, → : a step) do nothing: the room is paused
    document.addEventListener("keydown", (e) => {
      if (this.shown) e.stopImmediatePropagation();
    }, true);
  }

  get shown() {
    return !this.node.hidden;
  }

  set(on) {
    if (on === this.shown) return;
    for (const child of document.body.children) if (child !== this.node) child.inert = on;
    this.node.hidden = !on;
    if (on) {
      this.before = document.activeElement;
      this.title.focus();
    } else if (this.before && this.before.isConnected) {
      this.before.focus();
    }
  }
}
