"""The offline HTML report (`diagnose --html`, the /diagnose page's download) is built from files beside the
package: templates/, static/css/, static/js/ and the vendored Plotly.js. The Docker image copies them next to app/,
where app/assets.py looks, and .dockerignore keeps none of them out."""

from __future__ import annotations

import fnmatch

from app.assets import ROOT, STATIC, TEMPLATES, VENDOR_PLOTLY
from app.diagnose.html import CSS, ENTRY, TEMPLATE, bundle
from tests.support.server import REPO

NEEDED = [TEMPLATES / TEMPLATE, TEMPLATES / "_diagnose_report.html", STATIC / VENDOR_PLOTLY,
          *(STATIC / name for name in CSS), STATIC / "js" / ENTRY]


def test_the_files_are_where_the_package_looks() -> None:
    assert ROOT == REPO
    for path in NEEDED:
        assert path.is_file(), path
    assert bundle()  # every module the report's script imports is there


def test_the_image_copies_them_beside_the_package() -> None:
    dockerfile = (REPO / "Dockerfile").read_text().splitlines()
    assert [line for line in dockerfile if line.startswith("WORKDIR")] == ["WORKDIR /srv/app"]
    for folder in ("app", "static", "templates"):  # side by side in /srv/app, as in a checkout
        assert f"COPY {folder}/ {folder}/" in dockerfile, folder
    ignored = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for path in NEEDED:
        rel = str(path.relative_to(REPO))
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        assert not any(fnmatch.fnmatch(p, pattern) for pattern in ignored for p in prefixes), rel
