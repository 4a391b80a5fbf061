/** The loss calculator (blog §1–2, SCIENCE.md §1 and §3): ŷ, a label and ε → losses, targets, gradient per logit. */

const $ = (id) => document.getElementById(id);
const K_MIN = 2;
const K_MAX = 10;
const P_MIN = 0.0001; // the smallest probability a drag leaves (log 0 is infinite)
const DECIMALS = 4; // probabilities as typed and shown

/** The blog's worked examples; labels are 0-based here, shown 1-based. */
const EXAMPLES = {
  "calc-example-p1": { probs: [0.05, 0.9, 0.03, 0.02], label: 1, eps: 0.2 },
  "calc-example-p2": { probs: [0.01, 0.79, 0.15, 0.05], label: 1, eps: 0.2 },
  "calc-example-overconfident": { probs: [0.0001, 0.9997, 0.0001, 0.0001], label: 1, eps: 0.2 },
  "calc-example-k3-good": { probs: [0.2, 0.7, 0.1], label: 1, eps: 0.1 },
  "calc-example-k3-bad": { probs: [0.8, 0.1, 0.1], label: 1, eps: 0.1 },
};
const P2 = EXAMPLES["calc-example-p2"];

const state = { probs: [...P2.probs], label: P2.label, eps: P2.eps, seq: 0, inflight: false, again: false };

const round = (x) => Number(x.toFixed(DECIMALS));
const fmt = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
/** A gradient entry with its sign: "−0.0600", "+0.1000", "0.0000". */
function signed(x) {
  const text = Math.abs(x).toFixed(DECIMALS);
  if (Number(text) === 0) return text;
  return x < 0 ? `−${text}` : `+${text}`;
}

// ---- the probability vector ----------------------------------------------------------------------------

/** Set p_i = value and rescale the other entries so the vector sums to 1 (each stays ≥ P_MIN). */
export function setAndRenormalize(probs, i, value) {
  const k = probs.length;
  const v = round(Math.min(Math.max(value, P_MIN), 1 - P_MIN * (k - 1)));
  const others = probs.reduce((s, p, j) => (j === i || !(p > 0) ? s : s + p), 0);
  const rest = 1 - v;
  const out = probs.map((p, j) => {
    if (j === i) return v;
    const share = others > 0 && p > 0 ? (p / others) * rest : rest / (k - 1);
    return Math.max(P_MIN, round(share));
  });
  // put the rounding residual on the largest other entry, so the sum is 1 to the shown digits
  const residual = 1 - out.reduce((s, p) => s + p, 0);
  let big = i === 0 ? 1 : 0;
  out.forEach((p, j) => { if (j !== i && p > out[big]) big = j; });
  out[big] = round(out[big] + residual);
  return out;
}

/** Resize to K classes: new classes get 1/K, then everything is rescaled to sum to 1. */
function resize(probs, k) {
  const grown = probs.slice(0, k);
  while (grown.length < k) grown.push(1 / k);
  const sum = grown.reduce((s, p) => s + (p > 0 ? p : 0), 0);
  return grown.map((p) => round(sum > 0 && p > 0 ? p / sum : 1 / k));
}

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

/** What to send: the vector divided by its sum (when that is possible), the 0-based label and ε. */
function request() {
  const bad = state.probs.findIndex((p) => !Number.isFinite(p));
  if (bad >= 0) throw new Error(`p${bad + 1} is empty or not a number`);
  if (!Number.isFinite(state.eps)) throw new Error("ε is empty or not a number");
  const sum = state.probs.reduce((s, p) => s + p, 0);
  const probs = sum > 0 && state.probs.every((p) => p > 0) ? state.probs.map((p) => p / sum) : state.probs;
  return { probs, label: state.label, eps: state.eps };
}

/** Send the latest inputs; one request in flight, the newest inputs win. */
async function compute() {
  if (state.inflight) {
    state.again = true;
    return;
  }
  let body;
  try {
    body = request();
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

/** The server's message: {"error": "..."}, or FastAPI's validation list {"detail": [...]}. */
function errorText(data, status) {
  if (typeof data.error === "string") return data.error;
  if (Array.isArray(data.detail)) {
    return data.detail.map((d) => `${(d.loc || []).filter((x) => x !== "body").join(".")}: ${d.msg}`).join("; ");
  }
  if (typeof data.detail === "string") return data.detail;
  return `the server answered ${status}`;
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

const isExample = (calc, ex) => calc.label === ex.label && calc.eps === ex.eps && calc.probs.length === ex.probs.length
  && calc.probs.every((p, i) => Math.abs(p - ex.probs[i]) < 1e-6);

// ---- wiring --------------------------------------------------------------------------------------------

function load(example) {
  Object.assign(state, { probs: [...example.probs], label: example.label, eps: example.eps });
  buildBars();
  compute();
}

function init() {
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
}

init();
