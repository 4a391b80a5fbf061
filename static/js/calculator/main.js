/** The loss calculator (blog §1–2, its worked examples corrected): ŷ, a label and ε → losses, targets, gradient per logit.
A lesson's step may set its inputs (lib/lessonpanel.js); the page opens a WebSocket only for a lesson: one in its
URL, or the host's, when the page was reached by following the host (?room=1). */

import { $, readBoot } from "../lib/dom.js";
import { calculatorStep } from "../lib/lesson.js";
import { LessonPanel } from "../lib/lessonpanel.js";
import { applyLimits } from "../lib/limits.js";
import { Session } from "../lib/socket.js";
import {
  DECIMALS, EXAMPLES, K_MAX, K_MIN, errorText, fmt, isExample, requestBody, resize, setAndRenormalize, signed,
} from "./probs.js";

const P2 = EXAMPLES["calc-example-p2"];
const state = { probs: [...P2.probs], label: P2.label, eps: P2.eps, inflight: false, again: false };

// ---- bars ----------------------------------------------------------------------------------------------

/** Build one draggable bar and one number box per class. */
function buildBars() {
  const box = $("calc-probs");
  box.style.setProperty("--k", String(state.probs.length));
  box.replaceChildren(...state.probs.map((_, i) => {
    const col = document.createElement("div");
    col.className = "bar-col";
    col.dataset.index = String(i);
    col.innerHTML = `<div class="bar-name">${i + 1}</div>
      <div class="bar-track" role="slider" tabindex="0" aria-valuemin="0" aria-valuemax="1" aria-label="p${i + 1}">
        <div class="bar-fill"></div><div class="bar-target"></div></div>
      <input type="number" min="0" max="1" step="0.01" autocomplete="off" aria-label="p${i + 1}" data-testid="calc-p${i + 1}">`;
    const track = col.querySelector(".bar-track");
    track.addEventListener("pointerdown", (ev) => startDrag(ev, i, track));
    track.addEventListener("keydown", (ev) => nudge(ev, i));
    col.querySelector("input").addEventListener("input", (ev) => typed(ev, i));
    return col;
  }));
  const select = $("calc-label");
  select.replaceChildren(...state.probs.map((_, i) => new Option(String(i + 1), String(i))));
  drawBars();
}

/** Reflect state.probs (and targets, when known) in the bars and boxes. */
function drawBars(targets = null) {
  const sum = state.probs.reduce((s, p) => s + (Number.isFinite(p) ? p : 0), 0);
  for (const col of $("calc-probs").children) {
    const i = Number(col.dataset.index);
    const p = state.probs[i];
    const shown = Number.isFinite(p) && sum > 0 ? Math.min(Math.max(p / sum, 0), 1) : 0;
    col.classList.toggle("true", i === state.label);
    col.querySelector(".bar-fill").style.height = `${(shown * 100).toFixed(2)}%`;
    const track = col.querySelector(".bar-track");
    track.setAttribute("aria-valuenow", fmt(shown, DECIMALS));
    const target = col.querySelector(".bar-target");
    target.hidden = targets === null;
    if (targets) target.style.bottom = `${(targets[i] * 100).toFixed(2)}%`;
    const input = col.querySelector("input");
    if (document.activeElement !== input) input.value = Number.isFinite(p) ? String(p) : "";
  }
  $("calc-label").value = String(state.label);
  $("calc-k").value = String(state.probs.length);
  if (document.activeElement !== $("calc-eps")) $("calc-eps").value = Number.isFinite(state.eps) ? String(state.eps) : "";
  const note = $("calc-sum");
  const off = Number.isFinite(sum) && Math.abs(sum - 1) > 1e-6;
  note.textContent = off
    ? `The entries add up to ${sum.toPrecision(4)}; they are divided by their sum before computing.`
    : "The entries add up to 1.";
  note.classList.toggle("renorm", off);
}

function startDrag(ev, i, track) {
  ev.preventDefault();
  track.focus();
  track.setPointerCapture(ev.pointerId);
  const move = (e) => {
    const box = track.getBoundingClientRect();
    const value = 1 - (e.clientY - box.top) / box.height;
    update(setAndRenormalize(state.probs, i, value));
  };
  move(ev);
  track.addEventListener("pointermove", move);
  track.addEventListener("pointerup", () => track.removeEventListener("pointermove", move), { once: true });
}

function nudge(ev, i) {
  const delta = { ArrowUp: 0.01, ArrowRight: 0.01, ArrowDown: -0.01, ArrowLeft: -0.01, PageUp: 0.1, PageDown: -0.1 }[ev.key];
  if (delta === undefined) return;
  ev.preventDefault();
  update(setAndRenormalize(state.probs, i, state.probs[i] + delta));
}

function typed(ev, i) {
  const raw = ev.target.value.trim();
  state.probs[i] = raw === "" ? NaN : Number(raw);
  update(state.probs);
}

function update(probs) {
  state.probs = probs;
  drawBars();
  compute();
}

// ---- the server computes (POST /api/calculate is the reference) ----------------------------------------

/** Send the latest inputs; one request in flight, the newest inputs win. */
async function compute() {
  if (state.inflight) {
    state.again = true;
    return;
  }
  let body;
  try {
    body = requestBody(state);
  } catch (err) {
    showResult(null, err.message);
    return;
  }
  state.inflight = true;
  try {
    const res = await fetch("/api/calculate", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (res.ok) showResult(data, null);
    else showResult(null, errorText(data, res.status));
  } catch (err) {
    showResult(null, `could not reach the server (${err.message})`);
  } finally {
    state.inflight = false;
    if (state.again) {
      state.again = false;
      compute();
    }
  }
}

function showResult(calc, error) {
  $("calc-error").hidden = error === null;
  $("calc-error-text").textContent = error ?? "";
  $("calc-onehot-loss").textContent = calc ? fmt(calc.onehot_loss) : "–";
  $("calc-smoothed-loss").textContent = calc ? fmt(calc.smoothed_loss) : "–";
  $("calc-eps-shown").textContent = Number.isFinite(state.eps) ? String(state.eps) : "?";
  $("calc-note").hidden = !(calc && isExample(calc, P2));
  const rows = (calc ? calc.probs : []).map((p, i) => {
    const tr = document.createElement("tr");
    tr.classList.toggle("true", i === calc.label);
    const g = signed(calc.gradient[i]);
    const sign = { "−": "neg", "+": "pos" }[g[0]] ?? "";
    tr.innerHTML = `<td>${i + 1}${i === calc.label ? " (true)" : ""}</td><td>${fmt(p, DECIMALS)}</td>
      <td>${fmt(calc.targets[i], DECIMALS)}</td><td class="${sign}">${g}</td>`;
    return tr;
  });
  $("calc-gradient").tBodies[0].replaceChildren(...rows);
  drawBars(calc ? calc.targets : null);
}

// ---- wiring --------------------------------------------------------------------------------------------

function load(example) {
  Object.assign(state, { probs: [...example.probs], label: example.label, eps: example.eps });
  buildBars();
  compute();
}

// ---- a lesson, and the room's socket it needs ------------------------------------------------------------

let socket = null; // only for a lesson

const lesson = new LessonPanel({
  apply(settings) {
    const step = calculatorStep(settings);
    load({ probs: step.probs ?? state.probs, label: step.label ?? state.label, eps: step.eps ?? state.eps });
  },
  send: (message) => (socket ? socket.send(message) : false),
});

/** The room's socket: its `lesson` messages go to the panel (its frames are acknowledged and left). */
function openRoom() {
  socket = new Session({
    onHello() {},
    onFrame() {},
    onText(msg) {
      if (msg.type === "lesson") lesson.receive(msg);
      else if (msg.type === "error") lesson.failed(msg.message);
    },
    onConnection(conn) {
      if (conn !== "open" && conn !== "connecting") lesson.disconnected();
    },
  }, { reconnect: true });
  socket.connect();
}

function init() {
  applyLimits(document, readBoot().limits);
  $("calc-k").min = String(K_MIN);
  $("calc-k").max = String(K_MAX);
  for (const [id, example] of Object.entries(EXAMPLES)) $(id).addEventListener("click", () => load(example));
  $("calc-label").addEventListener("change", (ev) => {
    state.label = Number(ev.target.value);
    update(state.probs);
  });
  $("calc-eps").addEventListener("input", (ev) => {
    state.eps = ev.target.value.trim() === "" ? NaN : Number(ev.target.value);
    compute();
  });
  $("calc-k").addEventListener("change", (ev) => {
    const k = Math.round(Number(ev.target.value));
    if (!(k >= K_MIN && k <= K_MAX)) {
      showResult(null, `K must be a whole number from ${K_MIN} to ${K_MAX}`);
      ev.target.value = String(state.probs.length);
      return;
    }
    if (k === state.probs.length) return;
    state.probs = resize(state.probs, k);
    state.label = Math.min(state.label, k - 1);
    buildBars();
    compute();
  });
  load(P2);
  if (lesson.wantsRoom) openRoom();
  lesson.start();
}

init();
