/** The room's lesson in words and bars, for the host's controls and the projector (pure: tests/js/answers.test.mjs):
the distribution of answers, the counts, the room store's health, the room's ε sweep as series, and errors. */

import { answerText, formatNumber, isRight } from "../lib/lesson.js";
import { optimalLogitGap } from "../lib/theory.js";

const MAX_NUMBER_BARS = 8; // more distinct numbers than this are binned

/** One bar per choice (in the lesson's order) or per number typed (binned when many): {label, count, share, right}.
`right` only when `showRight` (the projector: after the reveal). */
export function distribution(question, answers, showRight = true) {
  if (!question) return [];
  const counts = answers || {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const share = (n) => (total ? n / total : 0);
  if (question.kind === "choice") {
    return question.choices.map((choice) => ({ label: choice, count: counts[choice] || 0, share: share(counts[choice] || 0),
      right: showRight && isRight(question, choice) === true }));
  }
  const values = Object.entries(counts).map(([key, n]) => [Number(key), n]).filter(([x]) => Number.isFinite(x))
    .sort((a, b) => a[0] - b[0]);
  if (values.length <= MAX_NUMBER_BARS) {
    return values.map(([x, n]) => ({ label: answerText(question, x), count: n, share: share(n),
      right: showRight && isRight(question, x) === true }));
  }
  const lo = values[0][0];
  const hi = values[values.length - 1][0];
  const width = (hi - lo) / MAX_NUMBER_BARS;
  const bins = Array.from({ length: MAX_NUMBER_BARS }, (_, i) => ({ lo: lo + i * width, hi: lo + (i + 1) * width, count: 0 }));
  for (const [x, n] of values) bins[Math.min(MAX_NUMBER_BARS - 1, Math.floor((x - lo) / width))].count += n;
  const answer = Number(question.answer);
  return bins.map((b, i) => ({ label: `${formatNumber(b.lo)} – ${formatNumber(b.hi)}`, count: b.count, share: share(b.count),
    right: showRight && question.answer !== undefined && answer >= b.lo && (answer < b.hi || i === MAX_NUMBER_BARS - 1) }));
}

/** "12 answers" (one answer: singular). */
export function answeredText(n) {
  return `${n} answer${n === 1 ? "" : "s"}`;
}

/** "20 of 25 attendees following the host". */
export function followingText(lesson) {
  return `${lesson.following} of ${lesson.attendees} attendee${lesson.attendees === 1 ? "" : "s"} following`;
}

/** HH:MM:SS of epoch seconds, in this machine's time zone. */
export function clock(epochSeconds) {
  const t = new Date(epochSeconds * 1000);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/** The room store's health for the host: null while it answers, else "room store unreachable since HH:MM:SS". */
export function storeLine(store) {
  if (!store || store.ok !== false) return null;
  return store.since ? `room store unreachable since ${clock(store.since)}` : "room store unreachable";
}

/** The words for a refused POST: the server's {"error"} (or FastAPI's {"detail"}), else the status. */
export function errorText(status, body) {
  if (body && typeof body.error === "string") return body.error;
  if (body && Array.isArray(body.detail) && body.detail.length) {
    const d = body.detail[0];
    return `the server refused it (${status}): ${(d.loc || []).slice(1).join(".") || "body"}: ${d.msg}`;
  }
  return status ? `the server answered ${status}` : "the server did not answer: is it running?";
}

/** The room's ε sweep from /api/room's lesson.results: points sorted by ε, one series per metric. */
export function sweepSeries(results) {
  const rows = (results || []).filter((r) => Number.isFinite(r.eps)).sort((a, b) => a.eps - b.eps);
  const pick = (key) => rows.filter((r) => Number.isFinite(r[key])).map((r) => [r.eps, r[key]]);
  return { count: rows.length, val_acc: pick("val_acc"), val_ece: pick("val_ece"), gap: pick("gap") };
}

/** The theory's logit gap ln(1 + K(1 − ε)/ε) over (0, hi], as [ε, gap] pairs (K = 3: the explorer's classes). */
export function theoryGap(hi = 0.5, k = 3, n = 120) {
  const lo = Math.min(0.01, hi / 10);
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1)).map((e) => [e, optimalLogitGap(e, k)]);
}
