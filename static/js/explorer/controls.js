/** The control panel: reads and writes the inputs, and turns user actions into callbacks. */

import { checkValue, clampTo } from "../lib/limits.js";
import { FIELDS } from "./urlstate.js";

const EPS_SEND_MS = 50; // throttle for live ε while dragging (server allows 100 messages/s)

/** Datasets with 2-D inputs: the blob-only knobs apply and the input-space panel shows them. */
export const TWO_D = new Set(["blobs"]);

/** Call fn at most every `ms`, always with the latest arguments last. */
function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  let pending = null;
  return (...args) => {
    pending = args;
    const wait = last + ms - performance.now();
    if (wait <= 0) {
      last = performance.now();
      fn(...pending);
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = performance.now();
        fn(...pending);
      }, wait);
    }
  };
}

/** Format ε for display: two decimals, more when typed finer. */
export function formatEps(eps) {
  if (eps === null || eps === undefined) return "–";
  const rounded = Math.round(eps * 100) / 100;
  return Math.abs(rounded - eps) < 1e-9 ? eps.toFixed(2) : String(Number(eps.toPrecision(4)));
}

/** Binds the controls in `root`; handlers: onLive, onReset, onPlay, onStep, onRestart, onScenario, ...;
limits: the server's field limits (boot data), which the inputs' min and max already show. */
export class Controls {
  constructor(root, handlers, limits) {
    this.root = root;
    this.handlers = handlers;
    this.limits = limits;
    this.inputs = {};
    for (const name of Object.keys(FIELDS)) this.inputs[name] = root.querySelector(`#${name}`);
    this.epsBox = root.querySelector("#eps-value");
    this.playButton = root.querySelector("#play");
    this.bind();
  }

  bind() {
    const $ = (sel) => this.root.querySelector(sel);
    const sendEps = throttle((eps) => this.handlers.onLive({ eps }), EPS_SEND_MS);
    this.inputs.eps.addEventListener("input", () => {
      const eps = Number(this.inputs.eps.value);
      this.epsBox.value = String(eps);
      sendEps(eps);
    });
    this.epsBox.addEventListener("change", () => {
      let eps = Number(this.epsBox.value);
      if (!Number.isFinite(eps)) return;
      eps = clampTo(this.limits.eps, eps);
      this.epsBox.value = String(eps);
      this.inputs.eps.value = String(this.onSlider(eps));
      this.handlers.onLive({ eps });
    });
    for (const name of ["lr", "speed", "fps"]) {
      this.inputs[name].addEventListener("change", () => {
        const value = this.read(name);
        if (value !== undefined) this.handlers.onLive({ [name]: value });
      });
    }
    for (const [name, spec] of Object.entries(FIELDS)) {
      if (!spec.reset) continue;
      const input = this.inputs[name];
      const out = this.root.querySelector(`#${name}-out`);
      if (out) input.addEventListener("input", () => (out.textContent = input.value));
      input.addEventListener("change", () => {
        const value = this.read(name);
        if (value === undefined) return;
        if (name === "dataset") this.enableKnobs(value);
        this.handlers.onReset({ [name]: value });
      });
    }
    $("#new-seed").addEventListener("click", () => {
      const seed = Math.floor(Math.random() * 100_000);
      this.inputs.seed.value = String(seed);
      this.handlers.onReset({ seed });
    });
    this.playButton.addEventListener("click", () => this.handlers.onPlay());
    $("#step").addEventListener("click", () => this.handlers.onStep(1));
    $("#step10").addEventListener("click", () => this.handlers.onStep(10));
    $("#reset").addEventListener("click", () => this.handlers.onRestart());
    $("#copy-link").addEventListener("click", () => this.handlers.onCopyLink());
    $("#export-csv").addEventListener("click", () => this.handlers.onExport("csv"));
    $("#export-json").addEventListener("click", () => this.handlers.onExport("json"));
    $("#same-scale").addEventListener("change", (e) => this.handlers.onSameScale(e.target.checked));
    for (const button of document.querySelectorAll("[data-scenario]")) {
      button.addEventListener("click", () => this.handlers.onScenario(button.dataset.scenario));
    }
    for (const button of document.querySelectorAll("[data-png]")) {
      button.addEventListener("click", () => this.handlers.onPng(button.dataset.png));
    }
    document.addEventListener("keydown", (e) => this.key(e));
  }

  /** Space plays or pauses; → and ← move through the history (onHistoryKey: true when it did), else → steps;
  unless the user is typing in a field (the timeline's slider keeps its own arrows). */
  key(event) {
    const tag = event.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || event.ctrlKey || event.metaKey) return;
    if (event.key === " " && tag !== "BUTTON") {
      event.preventDefault();
      this.handlers.onPlay();
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      const delta = event.key === "ArrowRight" ? 1 : -1;
      if (this.handlers.onHistoryKey && this.handlers.onHistoryKey(delta)) event.preventDefault();
      else if (delta > 0) this.handlers.onStep(1);
    }
  }

  /** The value of one control, parsed by its type; undefined when the box does not hold a valid value. */
  read(name) {
    const spec = FIELDS[name];
    const input = this.inputs[name];
    if (spec.type === "bool") return input.checked;
    if (spec.type === "str") return input.value;
    const value = input.value.trim() === "" ? NaN : Number(input.value);
    const problem = checkValue(this.limits[name], value);
    if (problem) {
      const label = input.closest("label")?.firstChild?.textContent?.trim() || name;
      this.handlers.onInvalid(`${label}: ${problem}`);
      return undefined;
    }
    return spec.type === "int" ? Math.trunc(value) : value;
  }

  /** ε where the slider can show it (its range, 0–0.5, is narrower than ε's: the box takes the rest). */
  onSlider(eps) {
    return Math.min(eps, Number(this.inputs.eps.max));
  }

  /** Show these settings in the controls (no messages are sent). */
  setValues(settings) {
    for (const [name, value] of Object.entries(settings)) {
      const input = this.inputs[name];
      if (!input || value === undefined || value === null) continue;
      if (FIELDS[name].type === "bool") input.checked = Boolean(value);
      else input.value = String(value);
      const out = this.root.querySelector(`#${name}-out`);
      if (out) out.textContent = String(value);
    }
    if (settings.eps !== undefined) {
      this.epsBox.value = String(settings.eps);
      this.inputs.eps.value = String(this.onSlider(settings.eps));
    }
    if (settings.dataset) this.enableKnobs(settings.dataset);
  }

  /** The blob-only knobs are greyed out for the tabular datasets. */
  enableKnobs(dataset) {
    const blobs = TWO_D.has(dataset);
    this.inputs.points.disabled = !blobs;
    this.inputs.similarity.disabled = !blobs;
  }

  setPlaying(playing) {
    this.playButton.textContent = playing ? "❚❚ pause" : "▶ play";
    this.playButton.setAttribute("aria-pressed", String(playing));
    this.playButton.classList.toggle("playing", playing);
  }

  /** Hide the controls named in `hide=` (workshop hand-outs). */
  hide(names) {
    for (const name of names) {
      for (const el of document.querySelectorAll(`[data-control="${CSS.escape(name)}"]`)) el.hidden = true;
    }
  }
}
