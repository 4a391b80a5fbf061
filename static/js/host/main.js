/** The room page: asks /api/room every refresh_ms and shows it (numbers, warning, workers, the room store's health,
the lesson's controls: host/lessonhost.js); `?present=1`, the projector view (host/projector.js), the same way. */

import { $, readBoot, setText } from "../lib/dom.js";
import { storeLine } from "./answers.js";
import { ago, roomTexts, workerRow } from "./format.js";
import { LessonHost } from "./lessonhost.js";
import { Projector } from "./projector.js";

const boot = readBoot();
let updatedAt = Date.now();

function showState(state, text) {
  const conn = $("room-conn");
  conn.dataset.state = state;
  setText(conn, text);
}

const projector = $("projector") ? new Projector() : null;
const host = projector ? null : new LessonHost((lesson) => host.render(lesson));

function render(room) {
  const down = storeLine(room.store);
  $("store-down").hidden = down === null;
  setText($("store-down"), down || "");
  if (projector) projector.render(room);
  else renderRoom(room);
  updatedAt = Date.now();
  setText($("room-updated"), "now");
}

/** The host's view: the lesson's controls and the room's numbers. */
function renderRoom(room) {
  host.render(room.lesson);
  host.showAddress(room.public_url);
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

if (host) {
  host.bind();
  host.load().then(() => host.render(boot.room.lesson));
}
render(boot.room);
setInterval(() => setText($("room-updated"), ago(Date.now() - updatedAt)), 1000);
setTimeout(poll, boot.refresh_ms);
