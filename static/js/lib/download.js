/** Files the pages offer: CSV and JSON text, PNG of any Plotly chart. */

/** CSV text: a header row, then one row per array of cells (null and undefined cells empty). */
export function toCsv(columns, rows) {
  const cell = (v) => (v === null || v === undefined ? "" : String(v));
  return [columns.join(","), ...rows.map((row) => row.map(cell).join(","))].join("\n") + "\n";
}

/** Click a temporary link to `href` that saves as `filename`. */
function save(href, filename) {
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
}

/** Offer text as a file download. */
export function downloadText(text, filename, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  save(url, filename);
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
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
  save(url, `label-smoothing-${id}.png`);
}
