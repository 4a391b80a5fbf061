/** How a session starts running the page's settings (pure: tests/js/runstart.test.mjs): the RunConfig a reset
sends, and whether the session the server just opened runs those already (then no reset is needed). */

import { FIELDS } from "./urlstate.js";

/** The RunConfig fields of the page's settings (a reset sends all of them: links reproduce runs), and `hidden`:
those a lesson's step set that the page has no control for (batch size, weight decay: lib/lesson.js). */
export function runConfig(settings, hidden = {}) {
  const config = {};
  for (const [name, spec] of Object.entries(FIELDS)) {
    if ((spec.reset || name === "eps" || name === "lr") && settings[name] !== undefined) config[name] = settings[name];
  }
  return { ...config, ...hidden };
}

/** True when the session the server just opened (its hello) already runs `config`, from step 0. */
export function serverRunsOurs(hello, config) {
  if (!hello || !hello.config || hello.mode !== "twin" || hello.diverged || hello.step !== 0) return false;
  return Object.entries(config).every(([name, value]) => {
    const theirs = name === "eps" ? hello.eps : name === "lr" ? hello.lr : hello.config[name];
    return theirs === value;
  });
}
