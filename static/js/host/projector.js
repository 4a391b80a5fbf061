/** The projector view, `/host?present=1` (templates/host.html): apart from the host's controls and readable from the
back of a room. Without a lesson, the join link, big. With one: the step's title and text, its question and the
count of answers; the distribution only once the host reveals it, with the right answer and why; at a step whose
projector is "sweep", every attendee's ε against validation accuracy, ECE and train logit gap, with the theory
curve ln(1 + K(1 − ε)/ε) dashed (refreshed with each /api/room answer). */

import { $, setText } from "../lib/dom.js";
import { answerText } from "../lib/lesson.js";
import { FONT, RUN_COLORS, baseLayout, react, whenPlotly } from "../lib/plots.js";
import { answeredText, distribution, sweepSeries, theoryGap } from "./answers.js";
import { drawDistribution } from "./dist.js";
import { redrawJoin } from "./lessonhost.js";

const BIG = 18; // chart type read from the back of a room
const EPS_MAX = 0.5; // the room's spread (app/server/classroom.py SPREAD)
const SWEEP = {
  "proj-acc": { key: "val_acc", y: "accuracy", range: [0, 1.02] },
  "proj-ece": { key: "val_ece", y: "ECE" },
  "proj-gap": { key: "gap", y: "logit gap", theory: true },
};

export class Projector {
  constructor() {
    this.plotly = false;
    this.publicUrl = undefined; // the attendee link's address last drawn
    this.shownKey = null; // the step whose text is on the screen
    this.room = null;
    whenPlotly(() => {
      this.plotly = true;
      if (this.room) this.render(this.room);
    }, () => {});
  }

  render(room) {
    this.room = room;
    if (this.publicUrl !== undefined && room.public_url !== this.publicUrl) redrawJoin();
    this.publicUrl = room.public_url;
    const lesson = room.lesson;
    $("proj-join").hidden = Boolean(lesson);
    $("proj-lesson").hidden = !lesson;
    if (!lesson) return;
    const content = lesson.content;
    setText($("proj-where"), `${lesson.title} · step ${lesson.step} of ${lesson.steps}`);
    setText($("proj-title"), content.title);
    $("proj-paused").hidden = !lesson.paused;
    const key = `${lesson.name}#${lesson.step}`;
    if (key !== this.shownKey) { // the server's safe Markdown subset (app/lessons/markdown.py)
      this.shownKey = key;
      $("proj-text").innerHTML = content.text;
    }
    const sweep = content.projector === "sweep";
    document.body.classList.toggle("proj-sweep-step", sweep);
    $("proj-sweep").hidden = !sweep;
    this.question(lesson);
    if (sweep) this.sweep(lesson.results);
    const urls = room.attendee_urls || [];
    setText($("proj-link"), urls.length ? `join: ${urls[0]}` : "");
  }

  /** The question and its count; the distribution, the answer and why only after the reveal. */
  question(lesson) {
    const q = lesson.question;
    $("proj-question").hidden = !q;
    if (!q) return;
    setText($("proj-prompt"), q.prompt);
    setText($("proj-answered"), answeredText(lesson.answered));
    const revealed = lesson.revealed;
    $("proj-waiting").hidden = revealed;
    $("proj-dist").hidden = !revealed;
    $("proj-answer").hidden = !revealed;
    if (!revealed) {
      $("proj-dist").replaceChildren(); // nothing of the answers stays on the page before the reveal
      $("proj-answer").replaceChildren();
      return;
    }
    drawDistribution($("proj-dist"), distribution(q, lesson.answers, true));
    const answer = document.createElement("p");
    const label = document.createElement("b");
    label.textContent = "Answer: ";
    answer.append(label, answerText(q, q.answer));
    const why = document.createElement("div");
    why.className = "why";
    why.innerHTML = q.why; // the server's safe Markdown subset
    $("proj-answer").replaceChildren(answer, why);
  }

  /** The room's ε sweep: one point per attendee on each chart, the theory's gap dashed. */
  sweep(results) {
    const series = sweepSeries(results);
    setText($("proj-sweep-count"), `${series.count} attendee${series.count === 1 ? "" : "s"} in the room's sweep`);
    if (!this.plotly) return;
    for (const [id, chart] of Object.entries(SWEEP)) {
      const points = series[chart.key];
      const data = [{ type: "scatter", mode: "markers", name: "attendees", x: points.map((p) => p[0]), y: points.map((p) => p[1]),
        marker: { color: RUN_COLORS.smoothed, size: 13, line: { color: "#fff", width: 1 } } }];
      if (chart.theory) {
        const curve = theoryGap(EPS_MAX);
        data.push({ type: "scatter", mode: "lines", name: "ln(1 + K(1 − ε)/ε)", x: curve.map((p) => p[0]), y: curve.map((p) => p[1]),
          line: { color: FONT.color, dash: "dash", width: 2.5 }, hoverinfo: "skip" });
      }
      react($(id), data, baseLayout({
        font: { ...FONT, size: BIG },
        margin: { l: 70, r: 18, t: 12, b: 60 },
        xaxis: { title: { text: "ε", font: { size: BIG + 2 } }, range: [-0.02, EPS_MAX + 0.02] },
        yaxis: { title: { text: chart.y, font: { size: BIG } }, ...(chart.range ? { range: chart.range } : { rangemode: "tozero" }) },
        hovermode: "closest",
      }));
    }
  }
}
