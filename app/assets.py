"""Where the files beside the package are: templates/ and static/ (a source checkout and the Docker image both
keep them next to app/), and the vendored Plotly.js bundle (docs/vendor.md) the pages and the reports use."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
VENDOR_PLOTLY = "vendor/plotly-cartesian-4.1.1.min.js"  # under static/
