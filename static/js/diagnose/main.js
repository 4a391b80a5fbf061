/** The /diagnose page: a network's file in (picked or dropped anywhere on the page), the paper's diagnostics out.

The file's bytes go to POST /api/diagnose as they are (the server reads them in memory, never stores them) with
the settings in the query; the answer is the report (docs/diagnose.md), drawn by show.js, or one sentence.
Another choice of classes, ε or points sends the same file again: the server keeps nothing. "download JSON"
saves the answer as it came; "download HTML" asks POST /api/diagnose/html for the offline report of it.
*/

import { $, readBoot, setText } from "../lib/dom.js";
import { downloadText } from "../lib/download.js";
import { NO_PLOTLY, whenPlotly } from "../lib/plots.js";
import { classLabel } from "./adapt.js";
import { ReportView } from "./show.js";

const BOOT = readBoot().diagnose;
const MAX_BYTES = BOOT.max_mb * 1e6;

const state = { file: null, bytes: null, text: null, report: null, busy: false };
const view = new ReportView();
whenPlotly(() => view.plotlyReady(), () => showError(NO_PLOTLY));

// ---- the file: picked or dropped ---------------------------------------------------------------

$("diagnose-file").addEventListener("change", (e) => {
  if (e.target.files.length) open(e.target.files[0]);
});
const zone = $("drop-zone");
for (const kind of ["dragenter", "dragover"]) {
  window.addEventListener(kind, (e) => {
    e.preventDefault(); // a file dropped anywhere on the page is taken, never opened by the browser instead
    zone.classList.add("over");
  });
}
window.addEventListener("dragleave", (e) => {
  if (!e.relatedTarget) zone.classList.remove("over");
});
window.addEventListener("drop", (e) => {
  e.preventDefault();
  zone.classList.remove("over");
  const files = e.dataTransfer ? e.dataTransfer.files : [];
  if (files.length) open(files[0]);
});

/** A new file: its report with the default classes (the ones the network confuses most). Its bytes are read once,
here, so a redraw sends the same file even if the one on disk changes or goes. */
async function open(file) {
  state.file = file;
  state.bytes = null;
  state.report = null;
  state.text = null;
  if (file.size > MAX_BYTES) {
    fail(`The file is ${(file.size / 1e6).toPrecision(3)} MB, over the ${BOOT.max_mb} MB cap.`, true);
    return;
  }
  try {
    const bytes = await file.arrayBuffer();
    if (file !== state.file) return; // another file was opened meanwhile
    state.bytes = bytes;
  } catch (err) {
    fail(`The browser could not read ${file.name} (${err.message}).`, true);
    return;
  }
  send({ classes: null }); // ε and the points per class stay as the user set them

}

// ---- settings: the same file again ------------------------------------------------------------

$("diagnose-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!state.bytes || state.busy) return;
  const classes = [0, 1, 2].map((i) => $(`class-${i}`).value);
  if (new Set(classes).size !== 3) {
    showError("The three classes must be different.");
    return;
  }
  send({ classes: classes.join(",") });
});

/** The query for the settings: classes (null: the server's default), ε and points per class; or an error sentence. */
function query({ classes }) {
  const params = new URLSearchParams();
  if (classes) params.set("classes", classes);
  const eps = $("diagnose-eps").value.trim();
  if (eps) {
    const value = Number(eps);
    if (!(value >= 0 && value <= 1)) return "ε must be a number between 0 and 1 (or empty).";
    params.set("eps", String(value));
  }
  const points = Number($("diagnose-points").value);
  if (!(Number.isInteger(points) && points >= 1 && points <= BOOT.max_points)) {
    return `Points per class must be a whole number from 1 to ${BOOT.max_points}.`;
  }
  params.set("points_per_class", String(points));
  return params;
}

async function send(settings) {
  const file = state.file;
  const params = query(settings);
  if (typeof params === "string") {
    showError(params);
    return;
  }
  busy(true, `Reading ${file.name} (${(file.size / 1e6).toPrecision(3)} MB)…`);
  try {
    const response = await fetch(`/api/diagnose?${params}`, {
      method: "POST", body: state.bytes, headers: { "content-type": "application/octet-stream" },
    });
    const text = await response.text();
    if (file !== state.file) return; // another file was opened meanwhile
    const data = parse(text);
    if (!response.ok || !data || data.error) {
      fail(data && data.error ? data.error : `The server answered ${response.status}.`, !state.report);
      return;
    }
    state.text = text;
    state.report = data;
    hideError();
    show(data, file);
  } catch (err) {
    fail(`The server could not be reached (${err.message}); the file was not read.`, !state.report);
  } finally {
    busy(false);
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function show(report, file) {
  $("diagnose-intro").hidden = true;
  $("report").hidden = false;
  view.show(report);
  fillClasses(report);
  setText($("file-status"), `${file.name}: K = ${report.k} classes, ${report.n_train} training points`
    + `${report.n_val ? `, ${report.n_val} validation` : ""}.`);
}

/** The three class pickers: every class of the file, the report's three selected. */
function fillClasses(report) {
  for (let i = 0; i < 3; i++) {
    const select = $(`class-${i}`);
    select.replaceChildren(...report.class_names.map((_, c) => new Option(classLabel(report, c), String(c))));
    select.value = String(report.classes[i]);
  }
}

// ---- downloads ---------------------------------------------------------------------------------

const stem = () => (state.file ? state.file.name.replace(/\.[^.]*$/, "") : "network");

$("download-json").addEventListener("click", () => {
  if (state.text) downloadText(state.text, `${stem()}.diagnose.json`, "application/json");
});

$("download-html").addEventListener("click", async () => {
  if (!state.text) return;
  busy(true, "Making the HTML report…");
  try {
    const response = await fetch("/api/diagnose/html", {
      method: "POST", body: state.text, headers: { "content-type": "application/json" },
    });
    const text = await response.text();
    if (!response.ok) {
      showError((parse(text) || {}).error || `The server answered ${response.status}.`);
      return;
    }
    downloadText(text, `${stem()}.diagnose.html`, "text/html");
  } catch (err) {
    showError(`The server could not be reached (${err.message}).`);
  } finally {
    busy(false);
  }
});

// ---- state in the page ---------------------------------------------------------------------------

function busy(on, status) {
  state.busy = on;
  $("diagnose-main").setAttribute("aria-busy", String(on));
  if (status) setText($("file-status"), status);
  const ready = !on && Boolean(state.report);
  $("class-picker").disabled = !ready;
  for (const id of ["diagnose-apply", "download-html", "download-json"]) $(id).disabled = !ready;
}

/** An error: said in words; with `drop`, the report shown belongs to no file any more and goes. */
function fail(message, drop) {
  showError(message);
  if (drop) {
    state.report = null;
    state.text = null;
    $("report").hidden = true;
    $("diagnose-intro").hidden = false;
    setText($("file-status"), `${state.file.name}: not read.`);
  } else {
    setText($("file-status"), "The report shown is the last one read.");
  }
}

function showError(message) {
  $("diagnose-error-text").textContent = message;
  $("diagnose-error").hidden = false;
}

function hideError() {
  $("diagnose-error").hidden = true;
}

$("diagnose-error-close").addEventListener("click", hideError);
