/** Shared Plotly look: colours in the domain's words, base layouts, and PNG export of any chart. */

/** Okabe–Ito colours for the three classes (colour-blind safe). */
export const CLASS_COLORS = ["#0072B2", "#E69F00", "#009E73"];

/** The two runs and the temperature-scaled baseline. */
export const RUN_COLORS = { baseline: "#4b4e6d", smoothed: "#c2185b", scaled: "#2a9d8f" };

export const FONT = { family: "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif", size: 13, color: "#24292f" };

/** Static charts: no mode bar, no zoom, responsive to their box. */
export const CONFIG = { displayModeBar: false, responsive: true, staticPlot: false, doubleClick: false };

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

/** Mix #rrggbb with white: t = 0 white, 1 the colour. */
export function tint(hex, t) {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(255 + (c - 255) * t);
  return `rgb(${mix((n >> 16) & 255)},${mix((n >> 8) & 255)},${mix(n & 255)})`;
}

/** Save the chart in element `id` as a PNG file (with a legend and a title, since the page's are HTML). */
export async function downloadPng(id) {
  const el = document.getElementById(id);
  if (!el || !el.data) return;
  const { width, height } = el.getBoundingClientRect();
  const card = el.closest("figure");
  const caption = card ? card.querySelector("figcaption .title") : null;
  const title = el.dataset.title || (caption ? caption.textContent.trim() : id);
  const showlegend = el.data.some((trace) => trace.name);
  const layout = {
    ...el.layout,
    ...(el.exportLayout ? el.exportLayout() : {}), // e.g. the decision regions, drawn on a canvas under the plot
    showlegend,
    paper_bgcolor: "#ffffff",
    title: { text: title, x: 0.02, font: { size: 15 } },
    margin: { ...(el.layout.margin || {}), t: showlegend ? 70 : 40 },
  };
  const url = await window.Plotly.toImage({ data: el.data, layout }, {
    format: "png",
    width: Math.max(Math.round(width), 360),
    height: Math.max(Math.round(height), 240) + (showlegend ? 60 : 30),
    scale: 2,
  });
  const a = document.createElement("a");
  a.href = url;
  a.download = `label-smoothing-${id}.png`;
  document.body.append(a);
  a.click();
  a.remove();
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

/** Plotly.react that never leaves an unhandled rejection in the console. */
export function react(el, data, layout) {
  const done = window.Plotly.react(el, data, layout, CONFIG);
  if (done && done.catch) done.catch(() => {});
}
