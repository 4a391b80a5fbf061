/** Small DOM helpers every page uses. */

export const $ = (id) => document.getElementById(id);

/** The page's boot data: the server's JSON in <script id="page-data"> (templates/base.html). */
export function readBoot() {
  return JSON.parse($("page-data").textContent);
}

/** Set an element's text only when it changed (cheap to call every frame). */
export function setText(el, value) {
  const s = String(value);
  if (el && el.textContent !== s) el.textContent = s;
}
