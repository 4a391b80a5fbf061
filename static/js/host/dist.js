/** The distribution of the room's answers as bars (host/answers.js distribution rows), for the host and the projector. */

/** Draw `rows` ({label, count, share, right}) into `box`: a list, one bar per answer, the right one marked. */
export function drawDistribution(box, rows) {
  const list = document.createElement("ol");
  list.className = "dist-list";
  for (const row of rows) {
    const item = document.createElement("li");
    item.className = `dist-row${row.right ? " right" : ""}`;
    const label = document.createElement("span");
    label.className = "dist-label";
    label.textContent = row.right ? `${row.label} ✓` : row.label;
    const bar = document.createElement("span");
    bar.className = "dist-bar";
    bar.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.style.width = `${Math.round(row.share * 1000) / 10}%`;
    bar.append(fill);
    const count = document.createElement("span");
    count.className = "dist-count";
    count.textContent = String(row.count);
    item.append(label, bar, count);
    list.append(item);
  }
  if (!rows.length) {
    const none = document.createElement("p");
    none.className = "hint";
    none.textContent = "no answers yet";
    box.replaceChildren(none);
    return;
  }
  box.replaceChildren(list);
}
