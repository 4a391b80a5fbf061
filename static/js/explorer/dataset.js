/** The explorer's own data (issue 22): the session's CSV file (lib/csvpick.js CsvFile) with what only the
explorer adds: a link's file (`data=`, asked for and checked by its fingerprint), the message that rebuilds a
csv run, the exports' file name and the inspected point's row. main.js hands it the server's answers. */

import { $, headedRow } from "../lib/dom.js";
import { CsvFile } from "../lib/csvpick.js";

export class DatasetPanel extends CsvFile {
  /** limits: the boot data's csv limits; onChange(fresh): main.js rebuilds the run on the file. */
  constructor(limits, onChange) {
    super($("csv-box"), limits, onChange);
    this.data = null; // the run's file as a link names it ({kind, sha256 | example, label, classes})
    this.linkChoice = null;
  }

  /** A link's file: an example is loaded at once, a CSV file is asked for (its fingerprint checked). */
  fromLink(data) {
    if (!data) return;
    this.linkChoice = { label: data.label, classes: data.classes };
    this.choice = this.linkChoice;
    if (data.kind === "example") {
      this.source = { name: `${data.example}.csv`, example: data.example };
    } else {
      this.expect = data.sha256;
      this.picker.ask(`This link's run trains on a CSV file (fingerprint ${data.sha256}): choose or drop that file to go on.`);
    }
  }

  use(source) {
    super.use(source, this.expect && this.linkChoice ? this.linkChoice : undefined);
  }

  /** The message that rebuilds the run on the file with `config`: a plain reset when the server's run is on it
  already; null while there is no file to send (a link's file not chosen yet). */
  resetMessage(config) {
    return this.held ? { type: "reset", config } : this.message(config);
  }

  /** The features' count of the file the run is on (2: the input-space map works). */
  get features() {
    return this.summary ? this.summary.features.length : 0;
  }

  /** The server's state: the run's file (null for other datasets), as a link names it; true when it changed. */
  confirm(data) {
    const example = this.good && this.good.example;
    const before = JSON.stringify(this.data);
    this.data = !data ? null : example ? { kind: "example", example, label: data.label, classes: data.classes }
      : { kind: "csv", sha256: data.sha256, label: data.label, classes: data.classes };
    return JSON.stringify(this.data) !== before;
  }

  /** For the exports' file names: the file's name without its extension, or null. */
  stamp() {
    if (!this.data || !this.summary) return null;
    return this.summary.name.replace(/\.[^.]*$/, "").replace(/[^\w.-]+/g, "_").slice(0, 40);
  }

  /** For the JSON export: the file as a link names it, and what was read. */
  described() {
    return this.data && this.summary ? { ...this.data, summary: this.summary } : null;
  }
}

/** The inspected point's row as the file has it: its line and [column, value] cells (inspector.js shows it). */
export function rowTable(row) {
  const table = document.createElement("table");
  table.append(...row.cells.map(([column, value]) => headedRow(column, value)));
  const note = document.createElement("span");
  note.className = "muted";
  note.textContent = `row on line ${row.line.toLocaleString("en")} of the file`;
  const scroll = document.createElement("div");
  scroll.className = "table-box";
  scroll.append(table);
  const box = document.createElement("div");
  box.className = "inspect-row";
  box.dataset.testid = "inspect-row";
  box.append(note, scroll);
  return box;
}
