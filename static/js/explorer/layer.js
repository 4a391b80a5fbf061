/** How a template-plane panel's point layer is painted: the training points coloured by true class (× where
the prediction is wrong), rings on flipped labels in the colour of the label given, the three templates
(diamonds labelled w₀ w₁ w₂, or the scene's templateNames) and the triangle through them, through a view (view.js: Plotly's own plot
area and ranges). Pure Canvas 2D on any context: a canvas in the page, an OffscreenCanvas in the painter
worker, or the PNG export's canvas. Points of one class and kind share one path (a few fill and stroke
calls per panel: measured about twice as fast in software-rendered Chromium as one drawImage per point).
*/

import { CLASS_COLORS, FONT, REFERENCE_COLOR } from "../lib/plots.js";

const DOT = 3.5; // a point's radius in CSS pixels at scale 1 (Plotly's marker size 7)
const DOT_ALPHA = 0.8;
const CROSS = 3.7; // half the extent of a wrong prediction's ×
const CROSS_WIDTH = 2.2;
const CROSS_ALPHA = 0.9;
const RING = 6.5; // a flipped label's ring: radius ...
const RING_WIDTH = 2; // ... and line width
const DIAMOND = 13; // a template's half-diagonal (Plotly's diamond of size 20)
const TEMPLATE_ALPHA = 0.75;
const LABEL_SIZE = 17;
const LABEL_COLOR = "#24292f";
const SUBSCRIPT = ["₀", "₁", "₂"];
const PICK = 9; // the inspected point's ring: radius ...
const PICK_WIDTH = 2.5; // ... and line width, dark on a white halo
const PICK_COLOR = "#111827";

/** Where a template's label goes: away from the triangle's centre (the plane's origin), in pixels. */
function labelPlace(dx, dy, gap) {
  if (Math.abs(dy) >= Math.abs(dx)) return dy <= 0 ? ["center", "bottom", 0, -gap] : ["center", "top", 0, gap];
  return dx >= 0 ? ["left", "middle", gap, 0] : ["right", "middle", -gap, 0];
}

/** Paint a scene into ctx (its transform maps CSS pixels) through a view {l, t, w, h, x0, x1, y0, y1}.
scene: {n, classes (true label per point), flips (indices of flipped labels), flipClasses (their given
labels), templateNames (optional: the three templates' labels)}; positions: 2n point coordinates then the 6 template coordinates; wrong: 1 where the prediction
is not the true class; scale: marker size factor; highlight: the inspected point's index (-1: none), drawn
with a dark ring over everything. Returns the templates' pixels [x0, y0, x1, y1, x2, y2]. */
export function paintScene(ctx, scene, positions, wrong, view, scale = 1, highlight = -1) {
  const { n, classes, flips, flipClasses } = scene;
  const p = positions;
  const kx = view.w / (view.x1 - view.x0);
  const ky = view.h / (view.y1 - view.y0);
  const px = (x) => view.l + (x - view.x0) * kx;
  const py = (y) => view.t + (view.y1 - y) * ky;
  ctx.save();
  ctx.beginPath();
  ctx.rect(view.l, view.t, view.w, view.h);
  ctx.clip();
  const r = DOT * scale;
  const a = CROSS * scale;
  ctx.lineWidth = CROSS_WIDTH * scale;
  for (let c = 0; c < 3; c++) {
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (classes[i] !== c || wrong[i]) continue;
      const x = px(p[2 * i]);
      const y = py(p[2 * i + 1]);
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    }
    ctx.globalAlpha = DOT_ALPHA;
    ctx.fillStyle = CLASS_COLORS[c];
    ctx.fill();
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (classes[i] !== c || !wrong[i]) continue;
      const x = px(p[2 * i]);
      const y = py(p[2 * i + 1]);
      ctx.moveTo(x - a, y - a);
      ctx.lineTo(x + a, y + a);
      ctx.moveTo(x - a, y + a);
      ctx.lineTo(x + a, y - a);
    }
    ctx.globalAlpha = CROSS_ALPHA;
    ctx.strokeStyle = CLASS_COLORS[c];
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  ctx.lineWidth = RING_WIDTH * scale;
  const ring = RING * scale;
  for (let c = 0; c < 3; c++) {
    ctx.beginPath();
    for (let k = 0; k < flips.length; k++) {
      if (flipClasses[k] !== c) continue;
      const i = flips[k];
      const x = px(p[2 * i]);
      const y = py(p[2 * i + 1]);
      ctx.moveTo(x + ring, y);
      ctx.arc(x, y, ring, 0, 2 * Math.PI);
    }
    ctx.strokeStyle = CLASS_COLORS[c];
    ctx.stroke();
  }
  if (highlight >= 0 && highlight < n) {
    const x = px(p[2 * highlight]);
    const y = py(p[2 * highlight + 1]);
    ctx.beginPath();
    ctx.arc(x, y, PICK * scale, 0, 2 * Math.PI);
    ctx.lineWidth = (PICK_WIDTH + 2) * scale;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.lineWidth = PICK_WIDTH * scale;
    ctx.strokeStyle = PICK_COLOR;
    ctx.stroke();
  }
  ctx.restore();

  const t = 2 * n;
  const at = [];
  for (let k = 0; k < 3; k++) at.push(px(p[t + 2 * k]), py(p[t + 2 * k + 1]));
  if (!at.every(Number.isFinite)) return at;
  ctx.save();
  ctx.beginPath();
  ctx.moveTo(at[0], at[1]);
  ctx.lineTo(at[2], at[3]);
  ctx.lineTo(at[4], at[5]);
  ctx.closePath();
  ctx.strokeStyle = REFERENCE_COLOR;
  ctx.lineWidth = 1.5 * scale;
  ctx.stroke();
  const d = DIAMOND * scale;
  ctx.lineWidth = 2 * scale;
  ctx.strokeStyle = "#ffffff";
  for (let k = 0; k < 3; k++) {
    const x = at[2 * k];
    const y = at[2 * k + 1];
    ctx.beginPath();
    ctx.moveTo(x, y - d);
    ctx.lineTo(x + d, y);
    ctx.lineTo(x, y + d);
    ctx.lineTo(x - d, y);
    ctx.closePath();
    ctx.fillStyle = CLASS_COLORS[k];
    ctx.globalAlpha = TEMPLATE_ALPHA; // a cluster sitting on its template still shows through
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.stroke();
  }
  const cx = px(0);
  const cy = py(0);
  ctx.font = `${Math.round(LABEL_SIZE * scale)}px ${FONT.family}`;
  ctx.fillStyle = LABEL_COLOR;
  for (let k = 0; k < 3; k++) {
    const x = at[2 * k];
    const y = at[2 * k + 1];
    const [align, baseline, ox, oy] = labelPlace(x - cx, y - cy, d + 3 * scale);
    ctx.textAlign = align;
    ctx.textBaseline = baseline;
    ctx.fillText(scene.templateNames ? scene.templateNames[k] : `w${SUBSCRIPT[k]}`, x + ox, y + oy);
  }
  ctx.restore();
  return at;
}
