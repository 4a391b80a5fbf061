/** The boxes the explorer folds and unfolds: the keyboard shortcuts list (?) and, in the projector view, the
full controls over the page (⚙ controls). Escape folds both. */

import { $ } from "../lib/dom.js";

/** The ? button and its list: it folds on Escape and on a click elsewhere. */
export function bindShortcuts() {
  const button = $("shortcuts");
  const box = $("shortcuts-box");
  const set = (open) => {
    box.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => set(box.hidden));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") set(false);
  });
  document.addEventListener("click", (e) => {
    if (!box.hidden && !box.contains(e.target) && e.target !== button) set(false);
  });
}

/** The projector view's button that unfolds the full controls over the page (and folds them again). */
export function bindPresentControls() {
  const button = $("more-controls");
  const aside = $("controls");
  const set = (open) => {
    aside.classList.toggle("open", open);
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => set(!aside.classList.contains("open")));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") set(false);
  });
}
