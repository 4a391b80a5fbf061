/** Settings ↔ URL query: every control, the scenario, the seed, `hide=`, `play=`, the projector view
`present=1`, a moment of the run `at=N` (the copied link's step) and a CSV run's file (`data=`, `label=`,
`class=`: lib/csvpick.js), via history.replaceState; a lesson's `lesson=`, `step=` and `room=` are kept as they are. */

import { readDataParams, writeDataParams } from "../lib/csvpick.js";
import { keepLessonParams } from "../lib/lesson.js";

/** The settings applied live (no reset) and those that rebuild the run, each with its type in the URL. */
const LIVE = { eps: "float", lr: "float", speed: "int", fps: "int" };
const RESET = { dataset: "str", points: "int", similarity: "float", label_noise: "float", ordered: "bool", seed: "int",
  hidden: "int", penultimate: "int", optimizer: "str" };

/** Every setting the page controls: its type and whether changing it rebuilds the run (reset). */
export const FIELDS = Object.fromEntries([
  ...Object.entries(LIVE).map(([name, type]) => [name, { type, reset: false }]),
  ...Object.entries(RESET).map(([name, type]) => [name, { type, reset: true }]),
]);

/** Names `hide=` accepts besides the fields above, and aliases people are likely to type. */
const HIDE_ALIASES = { noise: "label_noise", "label-noise": "label_noise", epsilon: "eps", ε: "eps" };

/** Parse one query value by field type; undefined when it does not parse. */
function parseValue(type, raw) {
  if (raw === null) return undefined;
  if (type === "str") return raw;
  if (type === "bool") return ["1", "true", "yes", "on"].includes(raw.toLowerCase());
  const value = type === "int" ? Number.parseInt(raw, 10) : Number.parseFloat(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** The most steps `at=` may ask for (the server's goto limit, docs/protocol.md). */
export const MAX_AT = 20_000;

/** `at=` of a link: {at: N or null, atError: a sentence or null}; a bad value is an error, not a guess. */
export function parseAt(raw) {
  if (raw === null || raw === undefined) return { at: null, atError: null };
  const text = String(raw).trim();
  if (!/^\d+$/.test(text) || Number(text) > MAX_AT) {
    return { at: null, atError: `This link's at=${text.slice(0, 24)} is not a step from 0 to ${MAX_AT.toLocaleString("en")}: the run starts from step 0 instead.` };
  }
  return { at: Number(text), atError: null };
}

/** The page's starting state: defaults, then the scenario's settings, then explicit parameters. */
export function readUrl(defaults, scenarios, search = location.search) {
  const params = new URLSearchParams(search);
  const settings = { speed: 3, fps: 30 };
  for (const name of Object.keys(FIELDS)) {
    if (defaults[name] !== undefined) settings[name] = defaults[name];
  }
  const scenario = scenarios.find((s) => s.key === params.get("scenario")) || null;
  if (scenario) Object.assign(settings, scenario.config, { speed: scenario.speed });
  for (const [name, spec] of Object.entries(FIELDS)) {
    const value = parseValue(spec.type, params.get(name));
    if (value !== undefined) settings[name] = value;
  }
  const hide = (params.get("hide") || "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) => HIDE_ALIASES[h] || h);
  const playParam = params.get("play");
  const play = playParam === null ? scenario !== null : parseValue("bool", playParam);
  const present = parseValue("bool", params.get("present")) === true;
  const data = settings.dataset === "csv" ? readDataParams(params) : null;
  return { settings, scenario: scenario ? scenario.key : null, hide, play, present, data, ...parseAt(params.get("at")) };
}

/** The query string for a state (every field written, so a link survives changed defaults); `present=1`
only when asked (withPresent: the address bar keeps the projector view, a shared link does not). */
export function queryFor({ settings, scenario, hide, play, present, data = null }, withPresent = true, at = null) {
  const params = new URLSearchParams();
  if (scenario) params.set("scenario", scenario);
  for (const [name, spec] of Object.entries(FIELDS)) {
    const value = settings[name];
    if (value === undefined || value === null) continue;
    params.set(name, spec.type === "bool" ? (value ? "1" : "0") : String(value));
  }
  if (settings.dataset === "csv") writeDataParams(params, data);
  params.set("play", play ? "1" : "0");
  if (hide && hide.length) params.set("hide", hide.join(","));
  if (present && withPresent) params.set("present", "1");
  if (Number.isInteger(at) && at >= 0) params.set("at", String(Math.min(at, MAX_AT)));
  return params.toString();
}

/** Replace the address bar's query (no history entry, no reload); a lesson's parameters stay (lib/lesson.js). */
export function writeUrl(state) {
  const params = keepLessonParams(location.search, new URLSearchParams(queryFor(state)));
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

/** The absolute link that reproduces this run (in the usual view: attendees get the controls), at step `at`
when given (the link opens the run fast-forwarded there, paused). */
export function linkFor(state, at = null) {
  return `${location.origin}${location.pathname}?${queryFor(state, false, at)}`;
}
