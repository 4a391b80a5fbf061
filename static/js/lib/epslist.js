/** ε lists, the one rule (tests/cases/eps_lists.json; the CLI's --eps follows it): START:STOP:STEP (STOP
included up to a 1e-9 tolerance) or numbers separated by commas, semicolons or spaces; values rounded to
10 decimals, sorted, duplicates removed; each ε in [min, max] (the server's ε limits, [0, 1]); at most
`maxModels` values (the server's sweep limit). */

/** A list the rule refuses: a message in a user's words and a `kind` (the case file's error names). */
export class EpsListError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

const round10 = (x) => Number(x.toFixed(10));

/** Parse an ε list into sorted distinct values; throws EpsListError. */
export function parseEpsList(text, { maxModels, min = 0, max = 1 }) {
  const src = text.trim();
  if (!src) throw new EpsListError("empty", "type ε values, e.g. 0:0.5:0.05 or 0, 0.1, 0.2");
  let values;
  if (src.includes(":")) {
    const parts = src.split(":").map((s) => s.trim());
    if (parts.length !== 3 || parts.some((s) => s === "" || !Number.isFinite(Number(s)))) {
      throw new EpsListError("not a range", "a range is START:STOP:STEP, three numbers, e.g. 0:0.5:0.05");
    }
    const [start, stop, step] = parts.map(Number);
    if (step <= 0) throw new EpsListError("step", "the STEP of a range must be above 0");
    if (stop < start) throw new EpsListError("stop below start", "the STOP of a range must not be below its START");
    const count = Math.floor((stop - start) / step + 1e-9) + 1;
    if (count > maxModels) throw new EpsListError("too many", `that range gives ${count} values; at most ${maxModels}`);
    values = Array.from({ length: count }, (_, i) => start + i * step);
  } else {
    const parts = src.split(/[\s,;]+/).filter(Boolean);
    const bad = parts.find((s) => !Number.isFinite(Number(s)));
    if (bad !== undefined) throw new EpsListError("not a number", `“${bad}” is not a number`);
    values = parts.map(Number);
  }
  const out = [...new Set(values.map(round10))].sort((a, b) => a - b);
  const outside = out.find((e) => e < min || e > max);
  if (outside !== undefined) throw new EpsListError(`outside [${min}, ${max}]`, `ε must be between ${min} and ${max} (got ${outside})`);
  if (out.length > maxModels) throw new EpsListError("too many", `${out.length} values; at most ${maxModels}`);
  return out;
}

/** Short text for a list of ε values: "11 models: ε = 0, 0.05, 0.1, …, 0.5". */
export function describeEps(values) {
  const shown = values.length <= 6 ? values.join(", ") : `${values.slice(0, 3).join(", ")}, …, ${values.at(-1)}`;
  return `${values.length} model${values.length === 1 ? "" : "s"}: ε = ${shown}`;
}

/** Two ε lists hold the same values (to 1e-9). */
export function sameEps(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((e, i) => Math.abs(e - b[i]) < 1e-9);
}
