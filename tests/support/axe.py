"""axe-core (npm) for the browser tests: fetched once from the npm registry at install time, then run in pages.

`python -m tests.support.axe` (make install-test) downloads the pinned tarball from registry.npmjs.org, checks
it against the registry's sha512 integrity string and keeps `axe.min.js` under .venv/share/. Nothing is fetched
while tests run; without the file the accessibility checks fail and say how to get it.

    from tests.support.axe import violations
    assert violations(page) == []        # each: "rule-id (impact): help — selector, selector"
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

VERSION = "4.14.1"
URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
SCRIPT = Path(__file__).resolve().parents[2] / ".venv" / "share" / f"axe-core-{VERSION}" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices: what "0 axe-core violations" means for the pages.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def fetch() -> Path:
    """Download and verify axe-core's tarball, keep axe.min.js; a no-op when it is there already."""
    if SCRIPT.exists():
        return SCRIPT
    data = urllib.request.urlopen(URL, timeout=60).read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        raise SystemExit(f"axe-core {VERSION}: the download's integrity {digest} is not the pinned {INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile("package/axe.min.js")
        assert member is not None
        script = member.read()
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.with_suffix(".tmp").write_bytes(script)
    SCRIPT.with_suffix(".tmp").replace(SCRIPT)
    return SCRIPT


def violations(page: Any, *, exclude: list[str] | None = None) -> list[str]:
    """Run axe-core in a Playwright page (sync API); one line per violated rule, [] when there are none."""
    if not SCRIPT.exists():
        raise AssertionError(f"{SCRIPT} is missing: `make install-test` (or python -m tests.support.axe) fetches it")
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(SCRIPT.read_text() + "\n;0")  # through the DevTools protocol: the pages' CSP bars inline scripts
    context: Any = {"include": [["html"]], "exclude": [[s] for s in exclude]} if exclude else None
    result = page.evaluate(
        "async ([context, tags]) => (await axe.run(context || document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))",
        [context, TAGS],
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['nodes'][:5])}" for v in result]


if __name__ == "__main__":
    print(fetch())
    sys.exit(0)
