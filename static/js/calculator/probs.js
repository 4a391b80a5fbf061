/** The loss calculator's arithmetic on the page's side (the losses themselves come from the server):
the probability vector kept summing to 1, what is sent, how numbers and the server's errors are shown. */

export const K_MIN = 2; // classes the calculator offers (a page choice; the server takes more)
export const K_MAX = 10;
export const P_MIN = 0.0001; // the smallest probability a drag leaves (log 0 is infinite)
export const DECIMALS = 4; // probabilities as typed and shown

/** The blog's worked examples; labels are 0-based here, shown 1-based. */
export const EXAMPLES = {
  "calc-example-p1": { probs: [0.05, 0.9, 0.03, 0.02], label: 1, eps: 0.2 },
  "calc-example-p2": { probs: [0.01, 0.79, 0.15, 0.05], label: 1, eps: 0.2 },
  "calc-example-overconfident": { probs: [0.0001, 0.9997, 0.0001, 0.0001], label: 1, eps: 0.2 },
  "calc-example-k3-good": { probs: [0.2, 0.7, 0.1], label: 1, eps: 0.1 },
  "calc-example-k3-bad": { probs: [0.8, 0.1, 0.1], label: 1, eps: 0.1 },
};

export const round = (x) => Number(x.toFixed(DECIMALS));
export const fmt = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "–");

/** A gradient entry with its sign: "−0.0600", "+0.1000", "0.0000". */
export function signed(x) {
  const text = Math.abs(x).toFixed(DECIMALS);
  if (Number(text) === 0) return text;
  return x < 0 ? `−${text}` : `+${text}`;
}

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
export function resize(probs, k) {
  const grown = probs.slice(0, k);
  while (grown.length < k) grown.push(1 / k);
  const sum = grown.reduce((s, p) => s + (p > 0 ? p : 0), 0);
  return grown.map((p) => round(sum > 0 && p > 0 ? p / sum : 1 / k));
}

/** What to send: the vector divided by its sum (when that is possible), the 0-based label and ε;
throws an Error in a user's words when an entry is empty or not a number. */
export function requestBody({ probs, label, eps }) {
  const bad = probs.findIndex((p) => !Number.isFinite(p));
  if (bad >= 0) throw new Error(`p${bad + 1} is empty or not a number`);
  if (!Number.isFinite(eps)) throw new Error("ε is empty or not a number");
  const sum = probs.reduce((s, p) => s + p, 0);
  return { probs: sum > 0 && probs.every((p) => p > 0) ? probs.map((p) => p / sum) : probs, label, eps };
}

/** The server's message: {"error": "..."}, or FastAPI's validation list {"detail": [...]}. */
export function errorText(data, status) {
  if (typeof data.error === "string") return data.error;
  if (Array.isArray(data.detail)) {
    return data.detail.map((d) => `${(d.loc || []).filter((x) => x !== "body").join(".")}: ${d.msg}`).join("; ");
  }
  if (typeof data.detail === "string") return data.detail;
  return `the server answered ${status}`;
}

/** The server's answer is for this example's inputs. */
export function isExample(calc, ex) {
  return calc.label === ex.label && calc.eps === ex.eps && calc.probs.length === ex.probs.length
    && calc.probs.every((p, i) => Math.abs(p - ex.probs[i]) < 1e-6);
}
