"""Browser test of the ε sweep page (/sweep): a real server, a real Chromium (issue 4, item 2).

Fixtures (server_url, watched, artifacts) come from tests/e2e/conftest.py.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages import SOCKET

EPS = [round(0.05 * i, 2) for i in range(11)]

pytestmark = pytest.mark.e2e


def chart(page: Any, testid: str) -> list[dict[str, Any]]:
    """The traces Plotly holds for one chart (x, y, name, line)."""
    return page.evaluate(
        """id => (document.querySelector(`[data-testid="${id}"]`).data || []).map(t => ({
               name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || []), dash: t.line && t.line.dash}))""",
        testid,
    )


def test_sweep_page_draws_its_curves(watched: Any, server_url: str, artifacts: Path) -> None:
    page = watched.page
    page.goto(server_url + "/sweep")
    page.wait_for_function("() => window.Plotly && document.querySelector('[data-testid=sweep-gap-chart]').data")
    assert page.get_by_test_id("sweep-eps").input_value() == "0:0.5:0.05"
    assert "11 models" in page.get_by_test_id("sweep-eps-preview").inner_text()
    page.get_by_test_id("sweep-steps").fill("800")
    page.get_by_test_id("sweep-speed").fill("60")
    page.get_by_test_id("sweep-start").click()

    # every ε gets a point on every chart, and the theory curve is there
    page.wait_for_function(
        """() => ['sweep-acc-chart', 'sweep-nll-chart', 'sweep-ece-chart', 'sweep-gap-chart'].every(id => {
               const d = document.querySelector(`[data-testid="${id}"]`).data;
               return d && d[0].x.length === 11; })""")
    gap = chart(page, "sweep-gap-chart")
    assert sorted(gap[0]["x"]) == EPS
    theory = gap[1]
    assert theory["dash"] == "dash" and len(theory["x"]) > 50
    assert min(theory["x"]) > 0 and all(math.isfinite(y) for y in theory["y"])
    i = min(range(len(theory["x"])), key=lambda j: abs(theory["x"][j] - 0.1))
    assert abs(theory["y"][i] - math.log1p(3 * 0.9 / 0.1)) < 0.05  # ln 28 ≈ 3.33 (blog §5)
    assert chart(page, "sweep-loss-chart")[1]["name"].startswith("floor")

    # values update as training streams
    first_step = int(page.get_by_test_id("sweep-status-step").inner_text())
    first = gap[0]["y"]
    page.wait_for_function("n => Number(document.querySelector('[data-testid=sweep-status-step]').textContent) > n",
                           arg=first_step + 200)
    page.wait_for_function(
        """first => { const y = document.querySelector('[data-testid=sweep-gap-chart]').data[0].y;
                      return y.some((v, i) => Math.abs(v - first[i]) > 1e-3); }""", arg=first)

    # it stops at the step target, paused, and the gaps head for ln(1 + K(1 − ε)/ε)
    page.wait_for_function("() => document.querySelector('[data-testid=sweep-status-conn]').textContent === 'paused'",
                           timeout=30_000)
    assert int(page.get_by_test_id("sweep-status-step").inner_text()) >= 800
    final = {x: y for x, y in zip(*[chart(page, "sweep-gap-chart")[0][k] for k in ("x", "y")], strict=True)}
    assert final[0.0] > final[0.05] > final[0.2] > final[0.5]
    assert abs(final[0.3] - math.log1p(3 * 0.7 / 0.3)) < 0.1 * math.log1p(3 * 0.7 / 0.3)
    assert page.get_by_test_id("sweep-table").locator("tbody tr").count() == 11

    page.screenshot(path=str(artifacts / "sweep.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_test_id("sweep-csv").click()
    with open(info.value.path(), newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["eps"]) for r in rows] == EPS
    assert all(int(r["step"]) >= 800 and 0 <= float(r["val_acc"]) <= 1 for r in rows)
    assert rows[0]["optimal_logit_gap"] == ""  # infinite at ε = 0

    assert watched.errors == []
    assert watched.outside == []


def test_sweep_page_shows_errors(watched: Any, server_url: str, artifacts: Path) -> None:
    page = watched.page
    page.goto(server_url + "/sweep")
    page.get_by_test_id("sweep-eps").fill("0:2:0.5")
    assert "between 0 and 1" in page.get_by_test_id("sweep-eps-preview").inner_text()
    page.get_by_test_id("sweep-start").click()
    assert "between 0 and 1" in page.get_by_test_id("sweep-error").inner_text()

    # the server's own message for a setting it refuses
    page.get_by_test_id("sweep-eps").fill("0, 0.1")
    page.get_by_test_id("sweep-seed").fill("-1")
    page.get_by_test_id("sweep-start").click()
    page.wait_for_function("() => document.querySelector('[data-testid=sweep-error]').textContent.includes('seed')")

    # a full explorer closes with 1013 and its reason: shown as it is
    reason = "The explorer is full (1/1). Try again in a minute."
    page.route_web_socket(SOCKET, lambda ws: ws.close(code=1013, reason=reason))
    page.goto(server_url + "/sweep")
    page.get_by_test_id("sweep-start").click()
    page.wait_for_function("r => document.querySelector('[data-testid=sweep-error]').textContent.includes(r)",
                           arg=reason)
    assert page.get_by_test_id("sweep-status-conn").inner_text() == "not connected"
    assert watched.errors == []
    assert watched.outside == []
