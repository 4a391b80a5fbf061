/** The Plotly look every page shares: colours in the domain's words, base layouts, HTML legends. */

/** Okabe–Ito colours for the three classes (colour-blind safe). */
export const CLASS_COLORS = ["#0072B2", "#E69F00", "#009E73"];

/** The two runs and the temperature-scaled baseline (the smoothed colour is the pages' accent). */
export const RUN_COLORS = { baseline: "#4b4e6d", smoothed: "#c2185b", scaled: "#2a9d8f" };

/** Reference lines: perfect calibration, templates' triangle. */
export const REFERENCE_COLOR = "#9aa1ab";

export const FONT = { family: "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif", size: 13, color: "#24292f" };

/** Static charts: no mode bar, no zoom, responsive to their box. */
export const CONFIG = { displayModeBar: false, responsive: true, doubleClick: false };

/** Base layout for a small chart; `extra` is merged on top (one level deep for axes). */
export function baseLayout(extra = {}) {
  const axis = { gridcolor: "#e6e8eb", zeroline: false, linecolor: "#c9ced6", ticks: "outside", tickcolor: "#c9ced6", ticklen: 4, fixedrange: true, ticklabeloverflow: "allow" };
  const layout = {
    font: FONT,
    margin: { l: 56, r: 14, t: 10, b: 40 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    showlegend: false, // legends are HTML (cheaper to redraw); PNG export turns Plotly's on
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 12 }, bgcolor: "rgba(0,0,0,0)" },
    hovermode: "x unified",
    xaxis: { ...axis },
    yaxis: { ...axis },
  };
  for (const [key, value] of Object.entries(extra)) {
    layout[key] = value && typeof value === "object" && !Array.isArray(value) && layout[key] ? { ...layout[key], ...value } : value;
  }
  return layout;
}

/** A colour with alpha, from #rrggbb. */
export function rgba(hex, alpha) {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** An HTML legend for `series` ({name, color, dash, width}) into `el`: short line swatches, one per series. */
export function htmlLegend(el, series) {
  const NS = "http://www.w3.org/2000/svg";
  const DASHES = { dot: "2 3", dash: "6 4", dashdot: "6 3 2 3", solid: "" };
  el.replaceChildren();
  for (const s of series) {
    const key = document.createElement("span");
    key.className = "key";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", "24");
    svg.setAttribute("height", "10");
    svg.setAttribute("aria-hidden", "true");
    const line = document.createElementNS(NS, "line");
    for (const [k, v] of Object.entries({ x1: 1, y1: 5, x2: 23, y2: 5, stroke: s.color, "stroke-width": s.swatchWidth || 2.6, "stroke-dasharray": DASHES[s.dash || "solid"] })) {
      line.setAttribute(k, String(v));
    }
    svg.append(line);
    key.append(svg, document.createTextNode(s.name));
    el.append(key);
  }
}

/** A Plotly call's promise, if any, never left as an unhandled rejection in the console. */
export function quiet(done) {
  if (done && done.catch) done.catch(() => {});
}

/** Plotly.react with the shared config. */
export function react(el, data, layout) {
  quiet(window.Plotly.react(el, data, layout, CONFIG));
}

/** Call ready() once Plotly.js (the deferred <script id="plotly-js">) has run, or failed() when it did not load. */
export function whenPlotly(ready, failed) {
  let settled = false;
  const check = (final) => {
    if (settled) return;
    if (window.Plotly) {
      settled = true;
      ready();
    } else if (final) {
      settled = true;
      failed();
    }
  };
  check(document.readyState === "complete");
  if (settled) return;
  const script = document.getElementById("plotly-js");
  if (script) {
    script.addEventListener("load", () => check(false));
    script.addEventListener("error", () => check(true));
  }
  window.addEventListener("load", () => check(true));
}

/** Run Plotly.js from `src` now (a page that preloads it and runs it later, when its parse no longer holds up
anything more urgent): a <script id="plotly-js">; resolves once window.Plotly is there, rejects if it did not load. */
export function loadPlotly(src) {
  return new Promise((resolve, reject) => {
    if (window.Plotly) {
      resolve(window.Plotly);
      return;
    }
    const script = document.createElement("script");
    script.id = "plotly-js";
    script.src = src;
    script.addEventListener("load", () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("no Plotly"))));
    script.addEventListener("error", () => reject(new Error(`${src} did not load`)));
    document.head.append(script);
  });
}

/** The message when Plotly.js did not load. */
export const NO_PLOTLY = "Plotly.js did not load (static/vendor): the charts cannot be drawn. Reload the page.";
