/** The server's limits (boot data `limits`, one home: app/protocol/messages.py) applied to the page's inputs.

A field's spec: {min, max, integer?, min_exclusive?}. An input says which field bounds it with
`data-limit="name"`; an element with `data-limit-text="name"` shows that field's range ("0…0.5") and one
with `data-limit-text="sweep_models"` the sweep's model limit.
*/

/** The field's range in words: "a whole number from 30 to 20000", "a number above 0, up to 10". */
export function describeLimit(spec) {
  const kind = spec.integer ? "a whole number" : "a number";
  return spec.min_exclusive ? `${kind} above ${spec.min}, up to ${spec.max}` : `${kind} from ${spec.min} to ${spec.max}`;
}

/** null when the value is within the spec (none: anything finite), else what to enter instead. */
export function checkValue(spec, value) {
  if (!spec) return Number.isFinite(value) ? null : "enter a number";
  const ok = Number.isFinite(value)
    && (spec.min_exclusive ? value > spec.min : value >= spec.min) && value <= spec.max
    && (!spec.integer || Number.isInteger(value));
  return ok ? null : `enter ${describeLimit(spec)}`;
}

/** The value moved into the spec's [min, max] (an exclusive minimum is left to checkValue). */
export function clampTo(spec, value) {
  return spec ? Math.min(spec.max, Math.max(spec.min, value)) : value;
}

/** The input attributes for a spec: min and max, and step 1 for whole numbers. */
export function inputBounds(spec) {
  const out = { min: String(spec.min), max: String(spec.max) };
  if (spec.integer) out.step = "1";
  return out;
}

/** Set min/max (and step) on every [data-limit] input below root, and fill every [data-limit-text]. */
export function applyLimits(root, limits) {
  for (const input of root.querySelectorAll("[data-limit]")) {
    const spec = limits.fields[input.dataset.limit];
    if (!spec) continue;
    for (const [name, value] of Object.entries(inputBounds(spec))) input.setAttribute(name, value);
  }
  for (const el of root.querySelectorAll("[data-limit-text]")) {
    const name = el.dataset.limitText;
    const spec = limits.fields[name];
    el.textContent = name === "sweep_models" ? String(limits.sweep_models) : spec ? `${spec.min}…${spec.max}` : "";
  }
}
