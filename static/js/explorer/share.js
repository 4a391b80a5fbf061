/** Sharing a run: its link to the clipboard, or, where the browser refuses (plain http on a LAN), in a box to copy. */

import { MAX_AT } from "./urlstate.js";

/** Copy `text` (a run's link, at `step` when given); toast(words) says what happened. */
export function copyText(text, toast, step = null) {
  const at = step !== null && step <= MAX_AT ? ` at step ${step.toLocaleString("en")}` : "";
  const done = () => toast(`Link copied: it reproduces this run${at} (same seed, same settings).`);
  const fallback = () => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    if (ok) done();
    else toast(`Copy this link: ${text}`);
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}
