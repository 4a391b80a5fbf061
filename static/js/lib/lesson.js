/** Lessons on every page, the pure part (tests/js/lesson.test.mjs): which page a step opens, the lesson's place in
the URL, what a step's settings ask of a page, answers in words, and what the host's `lesson` message means for
the page (docs/lessons.md; docs/protocol.md, "Lessons: the room, paced by the host").

URL: `?lesson=NAME&step=N` is a self-paced lesson (the page shows that step); `?room=1` says the page was reached
by following the host (it connects and waits for the room's step). Steps count from 1 everywhere. */

/** Each page a step may open, and its path. */
export const PAGES = { explorer: "/", calculator: "/calculator", sweep: "/sweep", distill: "/distill" };

/** The query parameters that belong to the lesson (a page's own URL state keeps them). */
export const LESSON_PARAMS = ["lesson", "step", "room"];

/** Run settings the explorer does not show but a step may set: sent with its reset (never the device). */
const HIDDEN_RUN_FIELDS = ["weight_decay", "batch_size", "display_points"];

/** The page key of a path ("/" → "explorer"), or null for a page that takes no lesson. */
export function pageAt(pathname) {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  return Object.keys(PAGES).find((key) => PAGES[key] === path) || null;
}

/** The lesson in a query: {lesson, step (a whole number ≥ 1, or null), badStep (the raw text of a step that is
not one), room (reached by following the host)}. */
export function readLessonParams(search) {
  const params = new URLSearchParams(search);
  const lesson = (params.get("lesson") || "").trim() || null;
  const raw = params.get("step");
  let step = lesson ? 1 : null;
  let badStep = null;
  if (lesson && raw !== null) {
    if (/^\s*\d+\s*$/.test(raw) && Number(raw) >= 1) step = Number(raw);
    else badStep = raw.slice(0, 24);
  }
  return { lesson, step, badStep, room: ["1", "true", "yes", "on"].includes((params.get("room") || "").toLowerCase()) };
}

/** A self-paced step on a page: "/calculator?lesson=NAME&step=2". */
export function lessonHref(page, lesson, step) {
  return `${PAGES[page]}?${new URLSearchParams({ lesson, step: String(step) })}`;
}

/** A page reached by following the host: "/calculator?room=1". */
export function roomHref(page) {
  return `${PAGES[page]}?room=1`;
}

/** The query `search` with the self-paced lesson's step written in (lesson null: the lesson's parameters removed);
the page's other parameters kept. */
export function withStep(search, lesson, step) {
  const params = new URLSearchParams(search);
  if (lesson) {
    params.set("lesson", lesson);
    params.set("step", String(step));
  } else {
    params.delete("lesson");
    params.delete("step");
  }
  return params.toString();
}

/** Copy the lesson's parameters of `search` into `params` (a page rewriting its query keeps them). */
export function keepLessonParams(search, params) {
  const from = new URLSearchParams(search);
  for (const name of LESSON_PARAMS) if (from.has(name)) params.set(name, from.get(name));
  return params;
}

// ---- what a step's settings ask of its page (docs/lessons.md, "Settings, by page") ------------------------

/** The explorer's run for a step: the defaults, then the scenario's config, the step's config, its ε. {scenario,
config (every RunConfig field), hidden (the fields the page has no control for), speed, play}. */
export function explorerStep(settings, defaults, scenarios) {
  const scenario = scenarios.find((s) => s.key === settings.scenario) || null;
  const config = { ...defaults, ...(scenario ? scenario.config : {}), ...(settings.config || {}) };
  if (settings.eps !== undefined) config.eps = settings.eps;
  delete config.device;
  const hidden = Object.fromEntries(HIDDEN_RUN_FIELDS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]));
  return { scenario: scenario ? scenario.key : null, config, hidden,
    speed: settings.speed ?? (scenario ? scenario.speed : 3), play: settings.play ?? true };
}

/** The calculator's inputs for a step: the vector, the true class counted from 0 (the step counts from 1), ε. */
export function calculatorStep(settings) {
  return { probs: settings.probs ? [...settings.probs] : null, label: settings.label ? settings.label - 1 : null,
    eps: settings.eps ?? null };
}

/** The sweep's form for a step: the ε list as the box takes it, the stop step, run settings, play. */
export function sweepStep(settings) {
  return { eps: settings.eps ? settings.eps.join(", ") : null, steps: settings.steps ?? null,
    config: { ...(settings.config || {}) }, play: settings.play ?? true };
}

/** The lab's settings for a step: the teachers' run settings and ε, T, α, play. */
export function distillStep(settings) {
  const form = { ...(settings.config || {}) };
  for (const key of ["eps", "temperature", "alpha"]) if (settings[key] !== undefined) form[key] = settings[key];
  delete form.device;
  return { form, play: settings.play ?? true };
}

// ---- questions and answers ---------------------------------------------------------------------------------

/** A number as a person writes it: at most 4 significant digits past what it needs. */
export function formatNumber(x) {
  return Number.isFinite(x) ? String(Number(x.toPrecision(4))) : "–";
}

/** An answer in words: the choice, or the number with the question's unit. */
export function answerText(question, value) {
  if (value === null || value === undefined) return "–";
  if (!question || question.kind !== "number") return String(value);
  const unit = question.unit ? ` ${question.unit}` : "";
  return `${formatNumber(Number(value))}${unit}`;
}

/** Whether `value` answers the revealed question rightly (a number within its tolerance); null when unknown. */
export function isRight(question, value) {
  if (!question || question.answer === undefined || value === null || value === undefined) return null;
  if (question.kind === "number") return Math.abs(Number(value) - Number(question.answer)) <= question.tolerance;
  return value === question.answer;
}

/** The number typed in an answer box, or null when it is not one ("3,3" is read as 3.3). */
export function readNumber(text) {
  const t = String(text).trim().replace(",", ".");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return null;
  const x = Number(t);
  return Number.isFinite(x) && Math.abs(x) <= 1e6 ? x : null;
}

// ---- the room: the host's `lesson` message ---------------------------------------------------------------

/** What the page shows for the room's `lesson` message; `followOff`: the lesson this browser chose to leave
(kept in the browser), or null. {active: false} when no lesson runs; else {following, unfollow (tell the
server: this browser left this lesson before), key (lesson and step: the page applies a step once), page,
banner, button, paused, spread (the sentence, or null)}. */
export function roomView(msg, followOff = null) {
  if (!msg || !msg.lesson || !msg.content) return { active: false, following: false };
  const unfollow = Boolean(msg.following) && followOff === msg.lesson;
  const following = Boolean(msg.following) && !unfollow;
  const where = `step ${msg.step} of ${msg.steps}`;
  return {
    active: true,
    following,
    unfollow,
    key: `${msg.lesson}#${msg.step}`,
    page: msg.content.page,
    banner: following ? `following the host · ${where}` : `exploring on my own · the host is at ${where}`,
    button: following ? "explore on my own" : "follow the host again",
    paused: Boolean(msg.paused),
    spread: msg.spread && msg.eps !== null && msg.eps !== undefined ? `your ε for the room's sweep: ${formatNumber(msg.eps)}` : null,
  };
}

/** A step as the panel shows it, from the room's message (host) or a lesson's step (self-paced). */
export function panelStep(source) {
  if (source.mode === "host") {
    const m = source.msg;
    return { mode: "host", lessonTitle: m.title, step: m.step, steps: m.steps, ...m.content, mine: m.mine ?? null,
      revealed: Boolean(m.revealed) };
  }
  const { lesson, step } = source;
  return { mode: "self", lessonTitle: lesson.title, step, steps: lesson.steps.length, ...lesson.steps[step - 1],
    mine: null, revealed: false };
}

/** Why a self-paced URL shows no step, in words (null when the step is there). */
export function selfPacedProblem(lesson, name, step, badStep) {
  if (!lesson) return `There is no lesson named “${name.slice(0, 60)}”: the page works without it.`;
  const n = lesson.steps.length;
  if (badStep !== null) return `“${badStep}” is not a step of “${lesson.title}”: its steps are 1 to ${n}.`;
  if (step < 1 || step > n) return `“${lesson.title}” has ${n} steps: step ${step} is not one of them.`;
  return null;
}
