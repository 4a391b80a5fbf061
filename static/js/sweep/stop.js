/** Stopping a sweep exactly at a chosen step: pause when the next few ticks would pass it, then send a
`step` control for the rest. Pure: the page keeps the state and sends what this returns. */

/** The next stage of aiming at `target` after a frame's header ({step, playing}).
stopping: "playing", then "pausing", then "topping-up"; null when not aiming. maxStep: the largest
`step` control the server takes (its limits). Returns {stopping, send: a control message or null}. */
export function approach({ stopping, target, speed }, header, maxStep) {
  const remaining = target === null ? 0 : target - header.step;
  if (stopping === "playing" && header.playing && remaining <= Math.min(3 * speed, maxStep)) {
    return { stopping: "pausing", send: { type: "pause" } };
  }
  if (stopping === "pausing" && !header.playing) {
    if (remaining > 0) return { stopping: "topping-up", send: { type: "step", n: Math.min(remaining, maxStep) } };
    return { stopping: null, send: null };
  }
  if (stopping === "topping-up" && remaining <= 0) return { stopping: null, send: null };
  return { stopping, send: null };
}

/** Whether the page should aim at the target when (re)starting play from `step`. */
export function aimFrom(step, target) {
  return target !== null && target > 0 && step < target ? "playing" : null;
}
