/** A diagnose report drawn with the explorer's own components: the template-plane panels (explorer/plane.js,
painted by explorer/painter.js and explorer/layer.js) for the training and validation points, the reliability
diagram (explorer/bars.js), and the logit gap and wrong-template spread per class (lib/plots.js). The page
(/diagnose, main.js) and the offline HTML report (standalone.js, bundled by app/diagnose/html.py) both draw
with it, into the markup of templates/_diagnose_report.html.
*/

import { drawReliability } from "../explorer/bars.js";
import { $ as byId, headedRow } from "../lib/dom.js";
import { makePainter } from "../explorer/painter.js";
import { TemplatePlane } from "../explorer/plane.js";
import { CLASS_COLORS, REFERENCE_COLOR, RUN_COLORS, baseLayout, htmlLegend, react, rgba } from "../lib/plots.js";
import { axisLabels, classLabel, describe, fmt, planeFrame, reliabilityFrame, summaryRows, templateName } from "./adapt.js";

const SETS = ["train", "val"];
const OTHER_CLASSES = "#c3c8d0";


export class ReportView {
  constructor() {
    this.planes = Object.fromEntries(SETS.map((set) => [set, new TemplatePlane(byId(`plane-${set}`), set)]));
    const canvases = Object.fromEntries(SETS.map((set) => [set, this.planes[set].canvas]));
    this.painter = makePainter(canvases, { inWorker: false }); // a still picture: painted once, on this thread
    for (const plane of Object.values(this.planes)) {
      plane.attach(this.painter);
      plane.onRedraw = () => this.requestTick(); // Plotly laid the axes out (again): the view follows
    }
    this.report = null;
    this.plotly = Boolean(window.Plotly);
    this.pending = false;
    window.addEventListener("resize", () => this.requestTick());
  }

  /** Draw a report (a new one replaces the last at once: no motion between reports). */
  show(report) {
    this.report = report;
    byId("report-what").textContent = describe(report);
    this.fillSummary(report);
    this.fillLegend(report);
    byId("val-card").hidden = !report.n_val;
    for (const set of SETS) {
      const plane = this.planes[set];
      plane.clear();
      if (set === "train" || report.n_val) plane.setTarget(planeFrame(report, set), 0);
    }
    if (this.plotly) this.drawCharts();
    this.requestTick();
  }

  /** Plotly.js has loaded: the charts (and the planes' axes) can be drawn. */
  plotlyReady() {
    this.plotly = true;
    if (this.report) this.drawCharts();
    this.requestTick();
  }

  fillSummary(report) {
    const rows = summaryRows(report).map(([what, value, note]) => {
      const tr = headedRow(what, value, note);
      tr.lastChild.className = "note";
      return tr;
    });
    byId("summary-table").tBodies[0].replaceChildren(...rows);
  }

  fillLegend(report) {
    const keys = report.classes.map((c, i) => ({ name: `${templateName(c)}: ${classLabel(report, c)}`, color: CLASS_COLORS[i] }));
    htmlLegend(byId("plane-keys"), keys);
  }

  drawCharts() {
    const report = this.report;
    htmlLegend(byId("reliability-keys"), [
      { name: "perfectly calibrated", color: REFERENCE_COLOR, dash: "dash" },
      { name: "your network", color: RUN_COLORS.baseline },
      { name: `after temperature scaling, T = ${fmt(report.temperature)}`, color: RUN_COLORS.scaled, dash: "dashdot" },
    ]);
    drawReliability(byId("reliability-chart"), reliabilityFrame(report), [["network", "your network", RUN_COLORS.baseline]],
      `after temperature scaling, T = ${fmt(report.temperature)}`);
    const gap = report.gap;
    htmlLegend(byId("gap-keys"), [
      { name: "mean ± sd over each class's points and wrong classes", color: RUN_COLORS.baseline, swatchWidth: 8 },
      ...(gap.theory === null ? [] : [{ name: `theory ln(1 + K(1 − ε)/ε) = ${fmt(gap.theory)}, ε = ${report.eps}`, color: RUN_COLORS.smoothed, dash: "dash" }]),
    ]);
    drawPerClass(byId("gap-chart"), report, gap.per_class, gap.per_class_std, "logit gap", gap.theory);
    drawPerClass(byId("spread-chart"), report, report.spread_per_class, null, "wrong-template spread", null);
  }

  /** One tick on the next animation frame: the planes' views, then whatever the painter has to draw. */
  requestTick() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame((now) => {
      this.pending = false;
      for (const plane of Object.values(this.planes)) plane.update(plane.ease(now));
      if (this.painter.tick(now)) this.requestTick();
    });
  }
}

/** Bars per class (the three in the plane in their colours), error bars when given, a dashed theory line. */
function drawPerClass(el, report, values, errors, title, theory) {
  const colors = report.class_names.map((_, c) => {
    const i = report.classes.indexOf(c);
    return rgba(i >= 0 ? CLASS_COLORS[i] : OTHER_CLASSES, 0.85);
  });
  const bars = {
    type: "bar", x: axisLabels(report), y: values, marker: { color: colors },
    name: title, hovertemplate: `%{x}: %{y:.3g}<extra>${title}</extra>`,
  };
  if (errors) bars.error_y = { type: "data", array: errors, visible: true, color: "#5d6573", thickness: 1.2, width: 3 };
  const yaxis = { title: { text: title, standoff: 4 }, rangemode: "tozero" };
  const shapes = [];
  if (theory !== null && theory !== undefined) { // a dashed line across the chart, kept in its range
    shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: theory, y1: theory,
      line: { color: RUN_COLORS.smoothed, dash: "dash", width: 2 } });
    const tops = values.map((v, c) => v + (errors && errors[c] ? errors[c] : 0)).filter(Number.isFinite);
    yaxis.range = [0, 1.1 * Math.max(theory, ...tops)];
  }
  react(el, [bars], baseLayout({
    hovermode: "closest", bargap: 0.25, shapes, yaxis,
    xaxis: { type: "category", automargin: true, tickangle: report.k > 12 ? -45 : 0 },
  }));
}
