/** The room page's words and numbers from one /api/room answer (pure: tests/js/host.test.mjs). */

/** A rate with one decimal below 100, none above; "–" when there is none (nobody playing). */
export function rate(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** "full 2 · code 1" for the refusals of the last minute, or "in the last minute" when there were none. */
export function refusedWhy(byReason) {
  const parts = Object.entries(byReason || {}).filter(([, n]) => n > 0).map(([why, n]) => `${why} ${n}`);
  return parts.length ? `last minute: ${parts.join(" · ")}` : "in the last minute";
}

/** "3 s ago" from milliseconds. */
export function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 2 ? "now" : `${s} s ago`;
}

/** "12.4 Mbit/s", and "of 40" when the room has a budget (ROOM_MBPS). */
export function network(room) {
  const sent = room.send_mbps === null || room.send_mbps === undefined ? "–" : rate(room.send_mbps);
  return room.room_mbps ? `${sent} of ${rate(room.room_mbps)}` : sent;
}

/** The acknowledgements' round trip: "38 ms" (median over attendees), "–" before any. */
export function roundTrip(ms) {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? "–" : `${Math.round(ms)} ms`;
}

/** Every text the page shows for one answer, by element id. */
export function roomTexts(room) {
  return {
    "room-sessions": String(room.sessions),
    "room-max": String(room.max_sessions),
    "room-fps": rate(room.fps_median),
    "room-fps-min": rate(room.fps_min),
    "room-fps-asked": rate(room.fps_asked_median),
    "room-steps": rate(room.steps_per_s_median),
    "room-playing": String(room.playing),
    "room-errors": String(room.errors_last_minute),
    "room-refused": String(room.refused_last_minute),
    "room-refused-why": refusedWhy(room.refused_by_reason),
    "room-device": String(room.device),
    "room-cpus": String(room.cpus),
    "room-fps-cap": String(room.fps_cap),
    "room-send": network(room),
    "room-rtt": roundTrip(room.ack_rtt_ms_median),
    "room-rtt-max": roundTrip(room.ack_rtt_ms_max),
  };
}

/** One worker's table row: [pid, sessions, CPU % (null when not measured yet)]. */
export function workerRow(worker) {
  const cpu = worker.cpu_percent === null || worker.cpu_percent === undefined ? null : Math.round(worker.cpu_percent);
  return [String(worker.pid), String(worker.sessions), cpu];
}
