/** Files the pages offer: CSV and JSON text, PNG of any Plotly chart. */

/** One CSV cell, safe to open in a spreadsheet: a text that starts with = + - @, a tab or a carriage return gets
a leading ' (OWASP, CSV injection), numbers stay numbers; quoted when it holds a comma, a quote or a line break. */
export function csvCell(v) {
  if (v === null || v === undefined) return "";
  let text = String(v);
  if (typeof v !== "number" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV text: a header row, then one row per array of cells (null and undefined cells empty). */
export function toCsv(columns, rows) {
  return [columns.map(csvCell).join(","), ...rows.map((row) => row.map(csvCell).join(","))].join("\n") + "\n";
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

/** Plotly's image of a chart with what the page draws over it on a canvas (el.exportOverlay(ctx, box, res):
box is the export's plot area in CSS pixels, from its margins, as Plotly lays it out). */
async function withOverlay(url, el, layout, width, height, scale) {
  const image = new Image();
  image.src = url;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  const m = { l: 80, r: 80, t: 100, b: 80, ...layout.margin };
  el.exportOverlay(ctx, { l: m.l, t: m.t, w: width - m.l - m.r, h: height - m.t - m.b }, scale);
  return canvas.toDataURL("image/png");
}

/** Save the chart in element `id` as a PNG file (with a legend and a title, since the page's are HTML;
with the points a page draws on a canvas over the chart, when it does). */
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
  const size = { width: Math.max(Math.round(width), 360), height: Math.max(Math.round(height), 240) + (showlegend ? 60 : 30) };
  const scale = 2;
  const url = await window.Plotly.toImage({ data: el.data, layout }, { format: "png", ...size, scale });
  const png = el.exportOverlay ? await withOverlay(url, el, layout, size.width, size.height, scale) : url;
  save(png, `label-smoothing-${id}.png`);
}
