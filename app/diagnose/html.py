"""The offline HTML report: one file that opens anywhere without a network (`diagnose --html`, and the /diagnose
page's "download HTML", byte for byte the same for the same report).

A Jinja2 template (templates/diagnose_report.html) with everything inlined: the vendored Plotly.js bundle, the
pages' CSS, the report as JSON, and the /diagnose page's own drawing code (static/js/diagnose/show.js, with the
explorer's template-plane and calibration modules it imports) bundled into one module script. No `plotly`
Python package, no CDN.
"""

from __future__ import annotations

import functools
import posixpath
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from .. import __version__
from ..assets import STATIC, TEMPLATES, VENDOR_PLOTLY

TEMPLATE = "diagnose_report.html"
ENTRY = "diagnose/standalone.js"  # under static/js/
CSS = ("css/base.css", "css/diagnose.css")  # under static/
IMPORT = re.compile(r'^import \{([^}]*)\} from "([^"]+)";[ \t]*$', re.M)
EXPORT = re.compile(r"^export (?=(?:async +)?(?:function|class|const|let) )", re.M)
EXPORTED = re.compile(r"^export (?:async +)?(?:function|class|const|let) +([A-Za-z_$][\w$]*)", re.M)


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    html: str = _template().render(report=report, version=__version__, plotly=_inline(STATIC / VENDOR_PLOTLY),
                              css=Markup("\n".join((STATIC / name).read_text(encoding="utf-8") for name in CSS)),
                              script=Markup(_escape_script(bundle())))
    return html


@functools.cache
def _template() -> Any:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    return env.get_template(TEMPLATE)


@functools.cache
def _inline(path: Any) -> Markup:
    return Markup(_escape_script(path.read_text(encoding="utf-8")))


def _escape_script(text: str) -> str:
    """Script text safe inside <script>: no '</script' can end it early."""
    return text.replace("</script", "<\\/script")


def bundle(entry: str = ENTRY, root: Path = STATIC / "js") -> str:
    """The page's ES modules from `entry` on, as the text of one module script: each module's body in a function of
    its own (its names stay its own), returning its exports; its imports are read from the modules before it.

    Takes what the pages write: `import { a, b as c } from "./x.js";` and `export function|class|const|let`.
    Anything else is refused (ValueError), so a module that starts to use another form is noticed by the tests."""
    order: list[str] = []

    def visit(rel: str, seen: tuple[str, ...]) -> None:
        if rel in order:
            return
        if rel in seen:
            raise ValueError(f"import cycle through {rel}")
        for _, target in IMPORT.findall((root / rel).read_text(encoding="utf-8")):
            visit(_resolve(rel, target), (*seen, rel))
        order.append(rel)

    visit(entry, ())
    parts = []
    for rel in order:
        text = (root / rel).read_text(encoding="utf-8")
        names = EXPORTED.findall(text)
        body = IMPORT.sub(functools.partial(_import_line, rel), text)
        body = EXPORT.sub("", body)
        if re.search(r"^(import|export)\b", body, re.M):
            raise ValueError(f"{rel}: an import or export form the report's bundler does not take")
        parts.append(f"// {rel}\nconst {_var(rel)} = (() => {{\n{body}\nreturn {{ {', '.join(names)} }};\n}})();\n")
    return "".join(parts)


def _resolve(rel: str, target: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))


def _var(rel: str) -> str:
    return "module_" + re.sub(r"\W", "_", rel)


def _import_line(rel: str, match: re.Match[str]) -> str:
    """`import { a, b as c } from "./x.js";` in module `rel` → `const { a, b: c } = module_x_js;`."""
    items = [n.strip() for n in match[1].split(",") if n.strip()]
    return "const { " + ", ".join(n.replace(" as ", ": ") for n in items) + f" }} = {_var(_resolve(rel, match[2]))};"
