/** What label smoothing predicts (blog §5, Eq 3–5), with targets q' = (1 − ε)·one-hot + ε/K. */

/** The smoothed target vector for a point of true class y among k classes. */
export function smoothedTargets(eps, k = 3, y = 0) {
  return Array.from({ length: k }, (_, i) => (i === y ? 1 - eps : 0) + eps / k);
}

/** Entropy of a probability vector in nats (0 · ln 0 = 0). */
export function entropy(q) {
  return q.reduce((h, p) => (p > 0 ? h - p * Math.log(p) : h), 0);
}

/** Loss floor: the smoothed loss cannot go below the entropy of its targets. */
export function lossFloor(eps, k = 3) {
  return entropy(smoothedTargets(eps, k));
}

/** The logit gap (correct minus wrong) that minimises the smoothed loss: ln(1 + K(1 − ε)/ε); infinite at ε = 0. */
export function optimalLogitGap(eps, k = 3) {
  return eps > 0 ? Math.log1p((k * (1 - eps)) / eps) : Infinity;
}

/** K from runs' own optimal_logit_gap metric (K = (e^gap − 1)·ε/(1 − ε)); `fallback` when no run tells. */
export function classCount(runs, fallback = 3) {
  for (const run of runs) {
    const { eps, optimal_logit_gap: gap } = run.metrics || {};
    if (gap != null && eps > 0 && eps < 1) return Math.round((Math.expm1(gap) * eps) / (1 - eps));
  }
  return fallback;
}
