/** The distillation lab's page logic without the DOM: phases in words, the metric history over both phases,
the bar point's numbers, and the distill control from the form (docs/protocol.md, `distill`). */

/** The four runs of a distill frame, teachers first (app/engine/distill.py RUN_NAMES). */
export const RUNS = ["teacher/baseline", "teacher/smoothed", "student/baseline", "student/smoothed"];

/** Where the lab stands, from a frame header's `distill` (or a state message's): words and each phase's share done. */
export function phaseView(d) {
  const teachers = Math.min(1, d.teacher_step / d.teacher_steps);
  const students = Math.min(1, d.student_step / d.student_steps);
  const label = { teachers: "teachers", students: "students", done: "done" }[d.phase] || d.phase;
  let hint;
  if (d.phase === "teachers") hint = `The teachers train: step ${d.teacher_step} of ${d.teacher_steps}. The students wait.`;
  else if (d.phase === "students") hint = `The teachers are done and frozen; the students learn from them: step ${d.student_step} of ${d.student_steps}.`;
  else hint = `Done: teachers ${d.teacher_steps} steps, students ${d.student_steps}. Restart to run the lab again.`;
  return { phase: d.phase, label, teachers, students, hint };
}

/** Each run's metrics over the lab's steps: teachers over theirs, students after them (x = teacher_steps + their step). */
export class History {
  constructor() {
    this.clear();
  }

  clear() {
    this.points = Object.fromEntries(RUNS.map((name) => [name, []])); // [{x, metrics}] in step order
    this.teacherSteps = null;
  }

  /** Record a frame's measured metrics (each run's `steps` says when they were measured); repeated ones are skipped. */
  add(header) {
    const d = header.distill;
    if (this.teacherSteps !== null && this.teacherSteps !== d.teacher_steps) this.clear();
    this.teacherSteps = d.teacher_steps;
    for (const [i, run] of header.runs.entries()) {
      const name = RUNS[i];
      const student = i >= 2;
      if (student && d.phase === "teachers") continue; // untrained students: nothing to draw yet
      const steps = run.metrics.steps;
      if (steps == null) continue;
      const x = student ? d.teacher_steps + steps : steps;
      const list = this.points[name];
      while (list.length && list[list.length - 1].x > x) list.pop(); // the lab went back (a divergence undone)
      if (list.length && list[list.length - 1].x === x) continue; // measured at this step already
      list.push({ x, metrics: run.metrics });
    }
  }

  /** {x, y} of one metric for one run. */
  series(name, metric) {
    const list = this.points[name];
    return { x: list.map((p) => p.x), y: list.map((p) => p.metrics[metric] ?? null) };
  }
}

/** Probabilities from the bar point's log p_T (nats); null (−∞) is 0. */
export function probsFrom(logProbs) {
  return logProbs.map((v) => (v == null ? 0 : Math.exp(v)));
}

/** This point's similar-class share: p(other of the pair) / (1 − p(own label)), from log p_T. */
export function pointShare(logProbs, label, pair) {
  const other = pair[0] === label ? pair[1] : pair[0];
  const third = [0, 1, 2].find((k) => k !== label && k !== other);
  const lo = logProbs[other];
  const lt = logProbs[third];
  if (lo == null && lt == null) return null;
  if (lt == null) return 1;
  if (lo == null) return 0;
  return 1 / (1 + Math.exp(lt - lo)); // p_o / (p_o + p_t), finite at any scale
}

/** A probability as the bars label it: 0.93, 0.034, 4.1e-7. */
export function formatProb(p) {
  if (p === 0) return "0";
  if (p >= 0.01) return p.toFixed(p >= 0.1 ? 2 : 3);
  return p.toExponential(1);
}

/** The `distill` control for the form's values ({dataset, similarity, seed, ..., teacher_steps, ...}); `hidden`: run
settings the form has no box for (a lesson's step may set them). */
export function distillMessage(form, displayPoints, hidden = {}) {
  return {
    type: "distill",
    config: { ...hidden, dataset: form.dataset, similarity: form.similarity, seed: form.seed, eps: form.eps, lr: form.lr,
      display_points: displayPoints },
    temperature: form.temperature,
    alpha: form.alpha,
    teacher_steps: form.teacher_steps,
    student_steps: form.student_steps,
    student_hidden: form.student_hidden,
    student_penultimate: form.student_penultimate,
  };
}
