/** The offline HTML report's script: the report the file carries, drawn as the /diagnose page draws it.
app/diagnose/html.py inlines it with the modules it imports (one <script type="module">, nothing fetched). */

import { ReportView } from "./show.js";

const report = JSON.parse(document.getElementById("report-data").textContent);
new ReportView().show(report);
