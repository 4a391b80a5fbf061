/** The distillation lab's drawings: four template planes, the teachers' p_T bars, and the lines over both phases. */

import { CLASS_COLORS, CONFIG, FONT, REFERENCE_COLOR, RUN_COLORS, baseLayout, htmlLegend, quiet, react, rgba } from "../lib/plots.js";
import { RUNS, formatProb, pointShare, probsFrom } from "./view.js";

const TWIN = { baseline: RUN_COLORS.baseline, smoothed: RUN_COLORS.smoothed };
const colorOf = (name) => TWIN[name.split("/")[1]];
const isStudent = (name) => name.startsWith("student/");
const FLOOR = 1e-9; // the bars' log axis starts here; smaller probabilities are drawn at it, labelled with their value
const SUBSCRIPT = ["₀", "₁", "₂"];

/** Words for a run: "one-hot teacher", "student of the smoothed teacher". */
export function runWords(name) {
  const twin = name.endsWith("baseline") ? "one-hot" : "smoothed";
  return isStudent(name) ? `student of the ${twin} teacher` : `${twin} teacher`;
}

/** The shared legend of the line charts (HTML: cheaper than Plotly's on every redraw). */
export function drawLegend(el) {
  htmlLegend(el, [
    ...RUNS.map((name) => ({ name: runWords(name), color: colorOf(name), dash: isStudent(name) ? "dot" : "solid" })),
    { name: "teachers' final value, for reference", color: REFERENCE_COLOR, dash: "dash" },
  ]);
}

/** One template plane: the display points coloured by true class (× where predicted wrong), the templates'
triangle, and the bar point ringed. `view` keeps the plane's half-width between frames (it grows at once, shrinks slowly). */
export function drawPlane(el, frame, name, pointIndex, view) {
  const run = frame.runs[name];
  const { points, templates, pred } = run;
  const truth = frame.trueLabels;
  const n = truth.length;
  const x = new Array(n);
  const y = new Array(n);
  const symbol = new Array(n);
  let need = 1e-3;
  for (let i = 0; i < n; i++) {
    x[i] = points[2 * i];
    y[i] = points[2 * i + 1];
    symbol[i] = pred[i] === truth[i] ? "circle" : "x";
    need = Math.max(need, Math.abs(x[i]), Math.abs(y[i]));
  }
  const tx = [templates[0], templates[2], templates[4], templates[0]];
  const ty = [templates[1], templates[3], templates[5], templates[1]];
  for (let k = 0; k < 3; k++) need = Math.max(need, Math.abs(tx[k]), Math.abs(ty[k]));
  need *= 1.15;
  view.radius = view.radius == null || need > view.radius ? need * 1.1 : Math.max(need, 0.98 * view.radius);
  const r = view.radius;
  const size = el._fullLayout && el._fullLayout._size;
  const aspect = size && size.h > 0 ? size.w / size.h : 1.3;
  const data = [
    { x, y, type: "scatter", mode: "markers", hoverinfo: "skip",
      marker: { symbol, color: Array.from(truth, (c) => CLASS_COLORS[c]), size: 6, opacity: 0.75, line: { width: 0 } } },
    { x: tx, y: ty, type: "scatter", mode: "lines+markers+text", hoverinfo: "skip", cliponaxis: false,
      line: { color: REFERENCE_COLOR, width: 1.4 }, text: [0, 1, 2].map((k) => `w${SUBSCRIPT[k]}`).concat([""]),
      textposition: "top center", textfont: { size: 14, color: FONT.color },
      marker: { symbol: "diamond", size: [16, 16, 16, 0], color: [...CLASS_COLORS, CLASS_COLORS[0]], line: { color: "#fff", width: 2 } } },
    { x: [x[pointIndex]], y: [y[pointIndex]], type: "scatter", mode: "markers", hoverinfo: "skip",
      marker: { symbol: "circle-open", size: 15, color: FONT.color, line: { width: 2.2 } } },
  ];
  const axis = { zeroline: false, gridcolor: "#eef0f3", fixedrange: true, ticks: "", showticklabels: false, showline: false };
  const layout = {
    font: FONT, showlegend: false, hovermode: false, dragmode: false, margin: { l: 6, r: 6, t: 6, b: 6 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#ffffff",
    xaxis: { ...axis, range: aspect >= 1 ? [-r * aspect, r * aspect] : [-r, r] },
    yaxis: { ...axis, range: aspect >= 1 ? [-r, r] : [-r / aspect, r / aspect] },
  };
  quiet(window.Plotly.react(el, data, layout, CONFIG));
  el.dataset.step = String(frame.step);
}

/** The teachers' (solid) and students' (light) p_T at the bar point, on a log axis; returns the note under it. */
export function drawBars(el, frame, classNames) {
  const d = frame.header.distill;
  const { label, log_probs: logProbs } = d.point;
  const pair = d.pair;
  const other = pair[0] === label ? pair[1] : pair[0];
  const x = classNames.map((c, k) => (k === label ? `${c} (its label)` : k === other ? `${c} (similar)` : c));
  const data = RUNS.map((name) => {
    const p = probsFrom(logProbs[name]);
    const student = isStudent(name);
    return {
      type: "bar", name: runWords(name), x, y: p.map((v) => Math.max(v, FLOOR)),
      text: p.map(formatProb), textposition: "outside", cliponaxis: false, textfont: { size: student ? 10 : 12 },
      marker: { color: rgba(colorOf(name), student ? 0.35 : 0.9), line: { color: colorOf(name), width: student ? 1.2 : 0 } },
      hovertemplate: `%{x}: p_T = %{text}<extra>${runWords(name)}</extra>`,
    };
  });
  react(el, data, baseLayout({
    barmode: "group", bargap: 0.18, bargroupgap: 0.05, hovermode: "closest", margin: { l: 56, r: 10, t: 18, b: 34 },
    yaxis: { type: "log", range: [Math.log10(FLOOR), 0.35], dtick: 3, exponentformat: "power",
      title: { text: `p<sub>T</sub> at T = ${d.temperature} (log scale)`, standoff: 4, font: { size: 12 } } },
  }));
  const share = (name) => pointShare(logProbs[name], label, pair);
  const pct = (v) => (v == null ? "–" : `${Math.round(100 * v)} %`);
  return `Of this point's wrong mass, the one-hot teacher gives ${pct(share("teacher/baseline"))} to the similar class `
    + `(${classNames[other]}), the smoothed teacher ${pct(share("teacher/smoothed"))} (50 %: no information). `
    + "Light bars: the students.";
}

/** A metric over the lab's steps: teachers solid, students dotted, the teachers' final value dashed across the
students' phase, and a line where the students start. */
export function drawLines(el, history, metric, frame, { yaxis = {}, half = false } = {}) {
  const d = frame.header.distill;
  const total = d.teacher_steps + d.student_steps;
  const data = [];
  for (const name of RUNS) {
    const s = history.series(name, metric);
    data.push({
      type: "scatter", mode: "lines", name: runWords(name), x: s.x, y: s.y, connectgaps: true,
      line: { color: colorOf(name), width: 2.4, dash: isStudent(name) ? "dot" : "solid" },
      hovertemplate: `step %{x}: %{y:.4g}<extra>${runWords(name)}</extra>`,
    });
  }
  if (d.phase !== "teachers") {
    frame.header.runs.slice(0, 2).forEach((run, i) => {
      const v = run.metrics[metric];
      if (v == null) return;
      data.push({ type: "scatter", mode: "lines", name: `${runWords(RUNS[i])}, final`, x: [d.teacher_steps, total],
        y: [v, v], line: { color: colorOf(RUNS[i]), width: 1.4, dash: "dash" }, hoverinfo: "skip", opacity: 0.7 });
    });
  }
  const shapes = [{ type: "line", xref: "x", yref: "paper", x0: d.teacher_steps, x1: d.teacher_steps, y0: 0, y1: 1,
    line: { color: REFERENCE_COLOR, width: 1, dash: "dot" } }];
  if (half) {
    shapes.push({ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: 0.5, y1: 0.5,
      line: { color: REFERENCE_COLOR, width: 1.2, dash: "dash" } });
  }
  react(el, data, baseLayout({
    margin: { l: 52, r: 12, t: 10, b: 38 }, shapes, hovermode: "closest",
    annotations: [{ x: d.teacher_steps, y: 1, xref: "x", yref: "paper", text: "students start", showarrow: false,
      xanchor: "left", yanchor: "top", font: { size: 11, color: "#8b949e" } }],
    xaxis: { range: [0, total], title: { text: "step (teachers, then students)", standoff: 4, font: { size: 12 } } },
    yaxis: { ...yaxis },
  }));
}
