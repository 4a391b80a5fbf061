/** Your own data in a page (issue 22): pick or drop a CSV file, or try an example; show what the server read
(rows, features, label, classes, rows dropped) and let the user choose the label column and the three classes;
keep what can be sent again to a new session (CsvFile). Shared by the explorer and the ε sweep. The file goes over the session's WebSocket as text: its bytes decoded
here as the server's reader expects (app/engine/csvread.py `decode`), so the page and the CLI read the same.
The pure functions at the top are tested by tests/js/csvpick.test.mjs. */

const CHUNK = 8192; // bytes per String.fromCharCode call

/** ISO-8859-1 exactly (byte n → U+00nn), as Python's latin-1; TextDecoder("latin1") would give windows-1252. */
export function latin1(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += CHUNK) out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  return out;
}

/** A file's bytes as text: UTF-8 (a leading BOM dropped), else Latin-1. */
export function decodeBytes(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

/** The server's sentence for a file over the size limit (null when it is not): the same words as the reader's. */
export function sizeProblem(size, limit) {
  if (size <= limit) return null;
  return `the file is ${(size / 2 ** 20).toFixed(1)} MB; the explorer reads files of at most ${Math.floor(limit / 2 ** 20)} MB`;
}

/** The `dataset` message (docs/protocol.md): its type first, as the server's size cap needs for a large file. */
export function datasetMessage({ name, text = null, example = null, label = null, classes = null, sha256 = null, config = {} }) {
  const msg = { type: "dataset", name };
  if (text !== null) msg.csv = text;
  if (example !== null) msg.example = example;
  if (label !== null) msg.label = label;
  if (classes !== null) msg.classes = classes;
  if (sha256 !== null) msg.sha256 = sha256;
  msg.config = config;
  return msg;
}

const SHA = /^[0-9a-f]{16}$/;

/** A link's file (`data=csv:<16 hex>` or `data=example:<key>`, `label=`, `class=` three times), or null. */
export function readDataParams(params) {
  const raw = params.get("data");
  if (!raw) return null;
  const [kind, value] = [raw.slice(0, raw.indexOf(":")), raw.slice(raw.indexOf(":") + 1)];
  const classes = params.getAll("class");
  const base = { label: params.get("label"), classes: classes.length === 3 ? classes : null };
  if (kind === "csv" && SHA.test(value)) return { kind, sha256: value, ...base };
  if (kind === "example" && /^[a-z]+$/.test(value)) return { kind, example: value, ...base };
  return null;
}

/** Write a file's parameters (what readDataParams reads) into URLSearchParams. */
export function writeDataParams(params, data) {
  if (!data) return;
  params.set("data", data.kind === "example" ? `example:${data.example}` : `csv:${data.sha256}`);
  if (data.label) params.set("label", data.label);
  for (const name of data.classes || []) params.append("class", name);
}

/** What a summary (the server's `dataset` answer) says, as [term, description] lines. */
export function summaryLines(s) {
  const n = (v) => Number(v).toLocaleString("en");
  const dropped = [];
  if (s.dropped.missing) dropped.push(`${n(s.dropped.missing)} with a missing value`);
  if (s.dropped.not_finite) dropped.push(`${n(s.dropped.not_finite)} with an infinite value`);
  if (s.other_classes) dropped.push(`${n(s.other_classes)} of other classes`);
  return [
    ["rows", `${n(s.used)} used of ${n(s.rows)} (${n(s.train)} training, ${n(s.validation)} validation; ${s.delimiter}-separated)`],
    ["features", `${s.features.length}: ${s.features.join(", ")}`],
    ["label", s.label],
    ["classes", s.classes.map((c) => `${c.name} (${n(c.rows)})`).join(", ")],
    ["left out", dropped.length ? `rows: ${dropped.join(", ")}` : "no rows"],
    ["ignored", s.ignored.length ? `columns: ${s.ignored.join(", ")}` : "no columns"],
  ];
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** The picker in `root` (templates/_csv.html). handlers: onText({name, text}) for a file read, onExample(key),
onChoice({label, classes}) when the label or the classes change; limits: the boot data's `csv` limits. */
export class CsvPicker {
  constructor(root, handlers, limits) {
    this.root = root;
    this.handlers = handlers;
    this.limits = limits;
    this.summary = null; // the server's latest answer
    this.q = (sel) => root.querySelector(sel);
    this.bind();
  }

  bind() {
    const input = this.q(".csv-file");
    input.addEventListener("change", () => {
      if (input.files && input.files[0]) this.read(input.files[0]);
      input.value = "";
    });
    const zone = this.root;
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("dropping");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dropping"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("dropping");
      const file = e.dataTransfer && e.dataTransfer.files[0];
      if (file) this.read(file);
    });
    for (const button of this.root.querySelectorAll("[data-example]")) {
      button.addEventListener("click", () => {
        this.busy(`loading the ${button.dataset.example} example…`);
        this.handlers.onExample(button.dataset.example);
      });
    }
    this.q(".csv-label").addEventListener("change", (e) => this.handlers.onChoice({ label: e.target.value, classes: null }));
    this.q(".csv-classes").addEventListener("change", () => {
      const picked = [...this.root.querySelectorAll(".csv-classes input:checked")].map((box) => box.value);
      this.q(".csv-classes-note").textContent = picked.length === 3 ? "" : `pick three classes (${picked.length} picked)`;
      if (picked.length === 3) this.handlers.onChoice({ label: this.summary.label, classes: picked });
    });
  }

  /** Open the file chooser (a user's click on "your own CSV…" is the gesture browsers ask for). */
  choose() {
    this.q(".csv-file").click();
  }

  /** Read a File: the size first (never sent when too large), then its bytes as text. */
  async read(file) {
    const problem = sizeProblem(file.size, this.limits.bytes);
    if (problem) {
      this.error(`${file.name}: ${problem}`);
      return;
    }
    this.busy(`reading ${file.name}…`);
    const text = decodeBytes(new Uint8Array(await file.arrayBuffer()));
    this.handlers.onText({ name: file.name, text });
  }

  busy(text) {
    this.q(".csv-error").hidden = true;
    const note = this.q(".csv-busy");
    note.textContent = text;
    note.hidden = !text;
  }

  /** A sentence from the server (or the size check) about the file: shown here, the summary kept. */
  error(message) {
    this.busy("");
    const box = this.q(".csv-error");
    box.textContent = message;
    box.hidden = false;
  }

  /** Ask for a link's file: its fingerprint names it. */
  ask(text) {
    const box = this.q(".csv-ask");
    box.textContent = text || "";
    box.hidden = !text;
  }

  /** Show the server's summary, with the label and classes to choose from. */
  show(summary) {
    this.summary = summary;
    this.busy("");
    this.ask(null);
    this.q(".csv-error").hidden = true;
    this.q(".csv-name").textContent = summary.name;
    this.q(".csv-facts").replaceChildren(...summaryLines(summary).flatMap(([term, text]) => [
      el("dt", { text: term }), el("dd", { text, "data-testid": `csv-fact-${term.replace(" ", "-")}` })]));
    const label = this.q(".csv-label");
    label.replaceChildren(...summary.label_choices.map((name) => el("option", { value: name, text: name })));
    label.value = summary.label;
    const chosen = new Set(summary.classes.map((c) => c.name));
    this.q(".csv-classes-list").replaceChildren(...summary.class_choices.map((c) => el("label", { class: "check" },
      el("input", { type: "checkbox", value: c.name, ...(chosen.has(c.name) ? { checked: "" } : {}) }),
      ` ${c.name} (${c.rows.toLocaleString("en")})`)));
    this.q(".csv-classes-note").textContent = "";
    this.q(".csv-summary").hidden = false;
  }
}

/** The page's side of a session's file: the picker in `root`, what can be sent again to a new session (the
file's text or the example's name, the label and the classes), and what this session's server holds.
onChange(fresh) when the run must be rebuilt on the file: fresh for a new file or example, not for another
label or classes. */
export class CsvFile {
  constructor(root, limits, onChange) {
    this.root = root;
    this.onChange = onChange;
    this.source = null; // the file the page wants: {name, text} or {name, example}
    this.good = null; // the last source a server took
    this.choice = { label: null, classes: null }; // null: the server's defaults
    this.expect = null; // a link's fingerprint the file must have
    this.heldFile = false; // this session's server holds `good`
    this.held = false; // ... and its run is on it, with this choice
    this.pending = null; // the source in flight
    this.summary = null; // the server's latest answer
    this.picker = new CsvPicker(root, {
      onText: ({ name, text }) => this.use({ name, text }),
      onExample: (key) => this.use({ name: `${key}.csv`, example: key }),
      onChoice: (choice) => {
        this.choice = choice;
        this.held = false;
        this.onChange(false);
      },
    }, limits);
  }

  use(source, choice = { label: null, classes: null }) {
    this.source = source;
    this.choice = choice;
    this.held = false;
    this.onChange(true);
  }

  /** Show the picker (the dataset is "your own CSV…"), or hide it unless it says something. */
  showBox(on) {
    this.root.hidden = !(on || !this.root.querySelector(".csv-error").hidden);
  }

  /** "your own CSV…" chosen: true when the page has a file to use, else the file chooser opens. */
  chosen() {
    if (this.source) return true;
    this.root.hidden = false;
    this.picker.choose();
    return false;
  }

  /** A new session: its server holds no file yet. */
  newSession() {
    this.held = this.heldFile = false;
    this.pending = null;
  }

  /** The dataset message that puts this session's run on the file (the file itself only when its server does
  not hold it), with `config` for the reset; null when the page has no file to send. */
  message(config) {
    if (!this.source) return null;
    const resend = this.source !== this.good || !this.heldFile;
    const file = !resend ? {} : this.source.example ? { example: this.source.example } : { text: this.source.text };
    this.pending = this.source;
    if (resend) this.picker.busy(`reading ${this.source.name}…`);
    return datasetMessage({ name: this.source.name, ...file, ...this.choice, sha256: resend ? this.expect : null, config });
  }

  /** The server's answer to a dataset message: what it read. */
  answered(summary) {
    this.good = this.pending || this.good;
    this.pending = null;
    this.held = this.heldFile = true;
    this.expect = null;
    this.summary = summary;
    this.choice = { label: summary.label, classes: summary.classes.map((c) => c.name) };
    this.picker.show(summary);
  }

  /** An error from the server: true when it is about the file in flight (shown in the picker; the file and the
  choice the server took before are kept). */
  failed(message) {
    const sent = this.pending;
    if (!sent || !(message.startsWith(`${sent.name}: `) || message.startsWith(`${sent.example}: `))) return false;
    this.pending = null;
    this.source = this.good;
    this.held = false;
    this.choice = this.summary ? { label: this.summary.label, classes: this.summary.classes.map((c) => c.name) }
      : { label: null, classes: null };
    this.picker.error(message);
    this.root.hidden = false;
    this.root.scrollIntoView({ block: "nearest" });
    return true;
  }
}
