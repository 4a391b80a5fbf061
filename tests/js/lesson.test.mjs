import assert from "node:assert/strict";
import { test } from "node:test";
import { page } from "./helpers.mjs";

const {
  PAGES, answerText, calculatorStep, distillStep, explorerStep, isRight, keepLessonParams, lessonHref, pageAt, panelStep,
  readLessonParams, readNumber, roomHref, roomView, selfPacedProblem, sweepStep, withStep,
} = await page("lib/lesson.js");

const DEFAULTS = { batch_size: 128, dataset: "blobs", device: "auto", display_points: 300, eps: 0.1, hidden: 32,
  label_noise: 0, lr: 0.01, optimizer: "adam", ordered: false, penultimate: 8, points: 600, seed: 0, similarity: 0,
  weight_decay: 0 };
const SCENARIOS = [
  { key: "distinct", config: { dataset: "blobs", similarity: 0, label_noise: 0, ordered: false, eps: 0.1 }, speed: 3 },
  { key: "unshuffled", config: { dataset: "blobs", similarity: 0.6, label_noise: 0, ordered: true, eps: 0.1 }, speed: 3 },
];
const CHOICE = { kind: "choice", prompt: "A or B?", choices: ["A", "B"], answer: "B", why: "<p>so</p>" };
const NUMBER = { kind: "number", prompt: "Where?", unit: "nats", tolerance: 0.25, answer: 3.33, why: "<p>ln 28</p>" };
const MESSAGE = { type: "lesson", lesson: "label-smoothing-20", title: "Label smoothing in 20 minutes", step: 3, steps: 10,
  paused: false, revealed: false, spread: false, eps: null, following: true, mine: null, version: 7,
  content: { title: "Can the smoothed loss reach zero?", page: "explorer", text: "<p>t</p>", look_for: "<p>l</p>",
    settings: { scenario: "distinct", eps: 0.1, play: false }, projector: "answers", question: { kind: "choice", prompt: "p", choices: ["a", "b"] } } };

test("every page a step may open has its path, and a path names its page", () => {
  assert.deepEqual(Object.keys(PAGES), ["explorer", "calculator", "sweep", "distill"]);
  assert.equal(pageAt("/"), "explorer");
  assert.equal(pageAt("/calculator"), "calculator");
  assert.equal(pageAt("/sweep/"), "sweep");
  assert.equal(pageAt("/host"), null);
});

test("the URL's lesson: the name, the step (1 when none), a step that is not one, and the host's mark", () => {
  assert.deepEqual(readLessonParams("?lesson=label-smoothing-20&step=4"), { lesson: "label-smoothing-20", step: 4, badStep: null, room: false });
  assert.deepEqual(readLessonParams("?lesson=x"), { lesson: "x", step: 1, badStep: null, room: false });
  assert.equal(readLessonParams("?lesson=x&step=two").badStep, "two");
  assert.equal(readLessonParams("?lesson=x&step=0").badStep, "0");
  assert.equal(readLessonParams("?lesson=x&step=-1").badStep, "-1");
  assert.deepEqual(readLessonParams("?room=1&eps=0.2"), { lesson: null, step: null, badStep: null, room: true });
  assert.deepEqual(readLessonParams(""), { lesson: null, step: null, badStep: null, room: false });
});

test("the URL follows the step: the page's own parameters stay, the lesson's are written or removed", () => {
  assert.equal(withStep("?eps=0.2&lesson=a&step=1", "a", 2), "eps=0.2&lesson=a&step=2");
  assert.equal(withStep("?eps=0.2", "a", 3), "eps=0.2&lesson=a&step=3");
  assert.equal(withStep("?eps=0.2&lesson=a&step=3", null, 0), "eps=0.2");
  assert.equal(lessonHref("calculator", "label-smoothing-20", 1), "/calculator?lesson=label-smoothing-20&step=1");
  assert.equal(roomHref("distill"), "/distill?room=1");
  assert.equal(roomHref("explorer"), "/?room=1");
  const params = keepLessonParams("?lesson=a&step=2&room=1&eps=9", new URLSearchParams("eps=0.1"));
  assert.equal(params.toString(), "eps=0.1&lesson=a&step=2&room=1");
});

test("an explorer step: defaults, then the scenario, the step's config and its ε; the hidden run fields kept apart", () => {
  const step = explorerStep({ scenario: "unshuffled", config: { batch_size: 8 }, play: false, speed: 1 }, DEFAULTS, SCENARIOS);
  assert.equal(step.scenario, "unshuffled");
  assert.equal(step.config.ordered, true);
  assert.equal(step.config.similarity, 0.6);
  assert.equal(step.config.points, 600);
  assert.equal(step.config.device, undefined); // never sent: the server's device
  assert.deepEqual(step.hidden, { weight_decay: 0, batch_size: 8, display_points: 300 });
  assert.equal(step.speed, 1);
  assert.equal(step.play, false);
  const eps = explorerStep({ scenario: "distinct", eps: 0.3 }, DEFAULTS, SCENARIOS);
  assert.equal(eps.config.eps, 0.3);
  assert.equal(eps.speed, 3); // the scenario's
  assert.equal(eps.play, true); // a step that says nothing plays, as a scenario's button does
  const none = explorerStep({ play: true }, DEFAULTS, SCENARIOS);
  assert.equal(none.scenario, null);
  assert.equal(none.config.eps, 0.1);
});

test("the other pages' steps: the calculator counts its label from 0, the sweep takes its ε list as text", () => {
  assert.deepEqual(calculatorStep({ probs: [0.01, 0.79, 0.15, 0.05], label: 2, eps: 0.2 }),
    { probs: [0.01, 0.79, 0.15, 0.05], label: 1, eps: 0.2 });
  assert.deepEqual(calculatorStep({ eps: 0.1 }), { probs: null, label: null, eps: 0.1 });
  assert.deepEqual(sweepStep({ eps: [0, 0.1, 0.2], steps: 500, config: { similarity: 0.5 }, play: false }),
    { eps: "0, 0.1, 0.2", steps: 500, config: { similarity: 0.5 }, play: false });
  assert.equal(sweepStep({}).play, true);
  assert.deepEqual(distillStep({ config: { similarity: 0.5 }, eps: 0.1, temperature: 1, alpha: 0, play: false }),
    { form: { similarity: 0.5, eps: 0.1, temperature: 1, alpha: 0 }, play: false });
});

test("answers in words: a choice as written, a number with its unit; right within the tolerance", () => {
  assert.equal(answerText(CHOICE, "B"), "B");
  assert.equal(answerText(NUMBER, 3.3), "3.3 nats");
  assert.equal(answerText(NUMBER, 3.333333), "3.333 nats");
  assert.equal(answerText(NUMBER, null), "–");
  assert.equal(isRight(CHOICE, "B"), true);
  assert.equal(isRight(CHOICE, "A"), false);
  assert.equal(isRight(NUMBER, 3.1), true);
  assert.equal(isRight(NUMBER, 3.0), false);
  assert.equal(isRight({ kind: "choice", choices: ["A"] }, "A"), null); // not revealed: unknown
  assert.equal(readNumber("3.3"), 3.3);
  assert.equal(readNumber(" 3,3 "), 3.3);
  assert.equal(readNumber("1e3"), 1000);
  assert.equal(readNumber("three"), null);
  assert.equal(readNumber(""), null);
  assert.equal(readNumber("1e9"), null);
});

test("the host's message: following, the banner, the pause, the spread ε, and a browser that left before", () => {
  const view = roomView(MESSAGE);
  assert.equal(view.active, true);
  assert.equal(view.following, true);
  assert.equal(view.key, "label-smoothing-20#3");
  assert.equal(view.page, "explorer");
  assert.equal(view.banner, "following the host · step 3 of 10");
  assert.equal(view.button, "explore on my own");
  assert.equal(view.paused, false);
  assert.equal(view.spread, null);
  const own = roomView({ ...MESSAGE, following: false });
  assert.equal(own.following, false);
  assert.equal(own.banner, "exploring on my own · the host is at step 3 of 10");
  assert.equal(own.button, "follow the host again");
  const left = roomView(MESSAGE, "label-smoothing-20"); // this browser chose its own pace on another page
  assert.equal(left.unfollow, true);
  assert.equal(left.following, false);
  assert.equal(roomView(MESSAGE, "another-lesson").following, true);
  assert.equal(roomView({ ...MESSAGE, paused: true }).paused, true);
  assert.equal(roomView({ ...MESSAGE, spread: true, eps: 0.25 }).spread, "your ε for the room's sweep: 0.25");
  assert.equal(roomView({ ...MESSAGE, spread: true, eps: null }).spread, null);
  assert.deepEqual(roomView({ type: "lesson", lesson: null, following: true, version: 8 }), { active: false, following: false });
  assert.deepEqual(roomView(null), { active: false, following: false });
});

test("the panel's step: the host's (its answer and reveal) or a self-paced lesson's", () => {
  const host = panelStep({ mode: "host", msg: { ...MESSAGE, mine: "a", revealed: true } });
  assert.equal(host.mode, "host");
  assert.equal(host.title, "Can the smoothed loss reach zero?");
  assert.equal(host.mine, "a");
  assert.equal(host.revealed, true);
  assert.equal(host.steps, 10);
  const lesson = { name: "x", title: "X", steps: [{ title: "one", page: "explorer", question: CHOICE }, { title: "two", page: "calculator" }] };
  const self = panelStep({ mode: "self", lesson, step: 2 });
  assert.deepEqual([self.mode, self.title, self.step, self.steps, self.lessonTitle], ["self", "two", 2, 2, "X"]);
});

test("a self-paced URL that names no step says why in words", () => {
  const lesson = { title: "X", steps: [{}, {}] };
  assert.match(selfPacedProblem(null, "nope", 1, null), /no lesson named “nope”/);
  assert.match(selfPacedProblem(lesson, "x", 1, "two"), /“two” is not a step of “X”: its steps are 1 to 2/);
  assert.match(selfPacedProblem(lesson, "x", 5, null), /has 2 steps: step 5 is not one of them/);
  assert.equal(selfPacedProblem(lesson, "x", 2, null), null);
});
