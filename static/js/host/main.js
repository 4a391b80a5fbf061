/** The room page: asks /api/room every refresh_ms and shows it (numbers, warning, workers). */

import { $, readBoot, setText } from "../lib/dom.js";
import { ago, roomTexts, workerRow } from "./format.js";

const boot = readBoot();
let updatedAt = Date.now();

function showState(state, text) {
  const conn = $("room-conn");
  conn.dataset.state = state;
  setText(conn, text);
}

function render(room) {
  for (const [id, text] of Object.entries(roomTexts(room))) setText($(id), text);
  $("room-warning").hidden = !room.warning;
  setText($("room-warning-text"), room.warning || "");
  $("room-errors").closest(".tile").classList.toggle("bad", room.errors_last_minute > 0);
  $("room-refused").closest(".tile").classList.toggle("bad", room.refused_last_minute > 0);
  $("room-sessions").closest(".tile").classList.toggle("bad", room.sessions >= room.max_sessions);
  const body = $("room-workers").tBodies[0];
  body.replaceChildren(...room.workers.map((worker) => {
    const [pid, sessions, cpu] = workerRow(worker);
    const tr = document.createElement("tr");
    tr.innerHTML = `<td></td><td></td><td><span class="cpu"><span class="cpu-text"></span>
      <span class="cpu-bar"><span></span></span></span></td>`;
    tr.cells[0].textContent = pid;
    tr.cells[1].textContent = sessions;
    tr.querySelector(".cpu-text").textContent = cpu === null ? "–" : `${cpu} %`;
    const bar = tr.querySelector(".cpu-bar");
    bar.classList.toggle("hot", cpu !== null && cpu >= 90);
    bar.firstElementChild.style.width = `${Math.min(cpu ?? 0, 100)}%`;
    return tr;
  }));
  updatedAt = Date.now();
  setText($("room-updated"), "now");
}

async function poll() {
  try {
    const response = await fetch("/api/room", { cache: "no-store", credentials: "same-origin" });
    if (response.status === 401) {
      showState("refused", "host code needed: reload");
    } else if (response.ok) {
      render(await response.json());
      showState("live", "live");
    } else {
      showState("reconnecting", `server answered ${response.status}`);
    }
  } catch {
    showState("reconnecting", "server not answering");
  }
  setTimeout(poll, boot.refresh_ms);
}

render(boot.room);
setInterval(() => setText($("room-updated"), ago(Date.now() - updatedAt)), 1000);
setTimeout(poll, boot.refresh_ms);
