/** The point inspector's wiring: a click or tap on a point (template plane or input-space chart) follows it in
every panel and in the card (explorer/inspector.js), hovering names it, Escape lets go. */

import { $ } from "../lib/dom.js";
import { Inspector, markInput, pickInput } from "./inspector.js";

const TAP_SLOP_PX = 6;
const RUNS = ["baseline", "smoothed"];

/** fn(clientX, clientY, touch) on a click or tap that starts on `el` and ends where it began. Not the click
event: Plotly's drag layer takes the mouse up (its cover over the page) and sends clicks of its own, one or
two per tap. A touch that turns into a scroll is cancelled. */
function onTap(el, fn) {
  let down = null;
  el.addEventListener("pointerdown", (e) => {
    down = e.isPrimary && e.button === 0 ? { id: e.pointerId, x: e.clientX, y: e.clientY } : null;
  });
  document.addEventListener("pointerup", (e) => {
    if (!down || e.pointerId !== down.id) return;
    const { x, y } = down;
    down = null;
    if (Math.hypot(e.clientX - x, e.clientY - y) <= TAP_SLOP_PX) fn(x, y, e.pointerType === "touch");
  }, true);
  document.addEventListener("pointercancel", () => {
    down = null;
  }, true);
}

/** The inspector as the page uses it. renderer: explorer/render.js; send(message): the socket's. */
export class Picker {
  constructor(renderer, send) {
    this.renderer = renderer;
    this.send = send;
    this.inspector = new Inspector({ onClose: () => this.close() });
  }

  /** The display point followed, or null. */
  get index() {
    return this.inspector.index;
  }

  /** Follow display point `index` in every panel and the card. */
  open(index) {
    this.inspector.open(index);
    this.send({ type: "inspect", index });
    this.highlight(index);
    const frame = this.renderer.shownFrame;
    if (frame && frame.header.inspect) this.inspector.show(frame, this.renderer.classNames);
  }

  /** Close the card (send: tell the server to stop sending the point's numbers). */
  close(send = true) {
    if (this.inspector.index === null) return;
    this.inspector.close();
    if (send) this.send({ type: "inspect", index: null });
    this.highlight(-1);
  }

  highlight(index) {
    for (const plane of Object.values(this.renderer.planes)) plane.highlight(index);
    this.markInputs(index);
  }

  /** The inspected point's ring in the input-space charts (2-D datasets). */
  markInputs(index = this.inspector.index ?? -1) {
    for (const run of RUNS) markInput($(`input-${run}`), this.renderer.regions, index);
  }

  /** A frame's numbers for the followed point, in the card (a past frame of the timeline, or the live one). */
  showFrame(frame) {
    if (this.inspector.index !== null) this.inspector.show(frame, this.renderer.classNames);
  }

  /** The live frame: the card and the rings. */
  showInspected(frame) {
    if (this.inspector.index === null) return;
    this.inspector.show(frame, this.renderer.classNames);
    this.markInputs();
  }

  /** A click or tap on a point: inspect it (a second click on it closes the card). */
  pickAt(index) {
    if (index < 0) return;
    if (index === this.inspector.index) this.close();
    else this.open(index);
  }

  bind() {
    const { renderer, inspector } = this;
    for (const [run, plane] of Object.entries(renderer.planes)) {
      onTap(plane.el, (x, y, touch) => this.pickAt(plane.pick(x, y, touch ? 16 : 9)));
      plane.el.addEventListener("pointermove", (e) => {
        if (e.pointerType !== "mouse") return;
        const i = plane.pick(e.clientX, e.clientY, 9);
        inspector.hover(renderer.shownFrame, run, i, e.clientX, e.clientY, renderer.classNames);
        plane.el.style.cursor = i >= 0 ? "pointer" : "";
      });
      plane.el.addEventListener("pointerleave", () => inspector.hover(null, run, -1));
    }
    for (const run of RUNS) {
      const chart = $(`input-${run}`);
      onTap(chart, (x, y, touch) => this.pickAt(pickInput(chart, renderer.regions, x, y, touch ? 16 : 9)));
      chart.addEventListener("pointermove", (e) => {
        if (e.pointerType !== "mouse") return;
        const i = pickInput(chart, renderer.regions, e.clientX, e.clientY, 9);
        inspector.hover(renderer.regions, run, i, e.clientX, e.clientY, renderer.classNames);
      });
      chart.addEventListener("pointerleave", () => inspector.hover(null, run, -1));
      if (chart.on) chart.on("plotly_afterplot", () => this.markInputs());
    }
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.close();
    });
  }
}
