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

/** A table row headed by `label` (a <th scope="row">), then one <td> per value, as text. */
export function headedRow(label, ...values) {
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = label;
  const tr = document.createElement("tr");
  tr.append(th, ...values.map((value) => {
    const td = document.createElement("td");
    td.textContent = value;
    return td;
  }));
  return tr;
}
