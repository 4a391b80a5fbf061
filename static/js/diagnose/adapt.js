/** A diagnose report (docs/diagnose.md) in the shapes the explorer's components take, and its numbers in words.

planeFrame() makes the frame a template-plane panel draws (explorer/plane.js: the three chosen classes as
classes 0, 1, 2, their templates named w_c after the file's classes); reliabilityFrame() what the reliability
diagram draws (explorer/bars.js). Pure: no DOM (tests/js/diagnose.test.mjs). No imports: the HTML report
bundles this module with the others (app/diagnose/html.py).
*/

const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";
const OTHER = 255; // a prediction outside the three classes (drawn as wrong)

/** A template's label: w with the class index as subscript digits (w₀, w₁₂). */
export function templateName(c) {
  return `w${String(c).replace(/\d/g, (d) => SUBSCRIPTS[Number(d)])}`;
}

/** The frame a TemplatePlane draws for the report's `set` of points ("train" or "val"), as run `set`. */
export function planeFrame(report, set) {
  const p = report.projection;
  const local = new Map(p.classes.map((c, i) => [c, i]));
  const labels = Uint8Array.from(p[`${set}_labels`], (c) => local.get(c));
  return {
    step: 0,
    trueLabels: labels,
    labels,
    flipped: new Uint8Array(labels.length),
    templateNames: p.classes.map(templateName),
    runs: {
      [set]: {
        points: Float32Array.from(p[set].flat()),
        templates: Float32Array.from(p.templates.flat()),
        pred: Uint8Array.from(p[`${set}_pred`], (c) => (local.has(c) ? local.get(c) : OTHER)),
      },
    },
  };
}

/** What the reliability diagram draws: the network's bins as run "network", the temperature-scaled ones beside. */
export function reliabilityFrame(report) {
  return { runs: { network: { reliability: report.reliability, reliabilityScaled: report.reliability_after_temperature } } };
}

/** A number as the report shows it: `digits` significant digits, "–" when there is none. */
export function fmt(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(digits)).toString();
}

/** A share of 1 as a percentage. */
export function percent(v) {
  return v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)} %`;
}

/** Class c by its name, with its index when the name does not say it. */
export function classLabel(report, c) {
  const name = report.class_names[c];
  return name === `class ${c}` ? name : `${name} (${c})`;
}

/** Every class's label for a chart's axis: the names when they are distinct, else with their indices. */
export function axisLabels(report) {
  const names = report.class_names;
  return new Set(names).size === names.length ? names.slice() : names.map((_, c) => classLabel(report, c));
}

/** What the report is about, in one line. */
export function describe(report) {
  const sets = report.n_val ? `${report.n_train} training and ${report.n_val} validation points` : `${report.n_train} training points`;
  return `K = ${report.k} classes, d = ${report.d} penultimate units, ${sets} (${report.format}).`;
}

/** The summary table's rows: [what, value, note]. */
export function summaryRows(report) {
  const on = report.evaluated_on;
  const gap = report.gap;
  const share = report.similar_share;
  const chosen = report.classes.map((c) => classLabel(report, c)).join(", ");
  const theory = gap.theory === null ? (report.eps === 0 ? "ε = 0: no finite optimum" : "give ε to compare")
    : `theory ln(1 + K(1 − ε)/ε) = ${fmt(gap.theory)} at ε = ${report.eps}`;
  const temperature = report.temperature_at_bound
    ? "at its bound: the NLL keeps falling as T moves (every point right, or none)" : "fitted on the NLL";
  return [
    ["classes in the plane", chosen, report.classes_chosen === "given" ? "as chosen" : "the three the network confuses most"],
    [`accuracy (${on})`, percent(report.accuracy), `training ${percent(report.train_accuracy)}`],
    [`NLL (${on})`, fmt(report.nll), `after temperature scaling ${fmt(report.nll_after_temperature)}`],
    [`ECE (${on}, 15 bins)`, fmt(report.ece), `after temperature scaling ${fmt(report.ece_after_temperature)}`],
    ["temperature T", fmt(report.temperature), temperature],
    ["logit gap (training)", `${fmt(gap.mean)} ± ${fmt(gap.std)}`, theory],
    ["wrong-template spread", fmt(report.spread),
      "0 = every point equidistant from its wrong templates (squared distances, over the margin)"],
    ["distance to templates", `${fmt(report.distances.correct)} own, ${fmt(report.distances.wrong)} wrong`, "mean ‖x̃ − w̃_k‖, training"],
    [`similar-class share (${share.pair.map((c) => report.class_names[c]).join(" / ")})`, fmt(share.share),
      `${fmt(share.even)} = wrong mass spread evenly`],
  ];
}
