"""Browser test of the distillation lab (/distill, issue 14): a real server, a real Chromium.

Fixtures (server_url, watched, artifacts) come from tests/e2e/conftest.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

RUNS = ["teacher-baseline", "teacher-smoothed", "student-baseline", "student-smoothed"]


def traces(page: Any, testid: str) -> list[dict[str, Any]]:
    """What Plotly holds for one chart: each trace's name, x and y."""
    return page.evaluate(
        """id => (document.querySelector(`[data-testid="${id}"]`).data || []).map(t => ({
               name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}))""", testid)


def phase_is(page: Any, phase: str, timeout: int = 60_000) -> None:
    page.wait_for_function("p => document.querySelector('[data-testid=distill-status-phase]').textContent === p",
                           arg=phase, timeout=timeout)


def fill(page: Any, testid: str, value: str) -> None:
    box = page.get_by_test_id(testid)
    box.fill(value)
    box.dispatch_event("change")


def test_the_lab_plays_through_both_phases(watched: Any, server_url: str, artifacts: Path) -> None:
    page = watched.page
    page.goto(server_url + "/distill")
    page.wait_for_function("() => !document.querySelector('[data-testid=distill-play]').disabled")
    assert page.get_by_test_id("distill-teacher-steps").input_value() == "3000"  # the engine's defaults, via state
    assert page.get_by_test_id("distill-similarity").input_value() == "0.5"
    fill(page, "distill-teacher-steps", "150")
    fill(page, "distill-student-steps", "150")
    fill(page, "distill-speed", "4")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=distill-phase-hint]').textContent.includes('of 150')")
    phase_is(page, "teachers")
    page.get_by_test_id("distill-play").click()
    phase_is(page, "students")
    phase_is(page, "done")
    assert page.get_by_test_id("distill-status-step").inner_text() == "300"
    assert "play again" in page.get_by_test_id("distill-play").inner_text()

    page.wait_for_function("() => document.querySelector('[data-testid=distill-plane-student-smoothed]').dataset.step"
                           " === '300'")
    for run in RUNS:
        plane = traces(page, f"distill-plane-{run}")
        assert len(plane) == 3 and len(plane[0]["x"]) == 150, run  # points, templates, the bar point
    bars = traces(page, "distill-bars")
    assert len(bars) == 4 and all(len(b["y"]) == 3 and 0 < min(b["y"]) <= max(b["y"]) <= 1 for b in bars)
    assert "similar class" in page.get_by_test_id("distill-bars-note").inner_text()

    share = {t["name"]: t for t in traces(page, "distill-share-chart")}
    teacher, student = share["one-hot teacher"], share["student of the one-hot teacher"]
    assert teacher["x"] and max(teacher["x"]) == 150
    assert student["x"] and min(student["x"]) >= 150 and max(student["x"]) == 300
    assert all(0 <= y <= 1 for y in teacher["y"] + student["y"])
    for chart in ("distill-acc-chart", "distill-nll-chart", "distill-ece-chart"):
        names = {t["name"] for t in traces(page, chart)}
        assert {"student of the smoothed teacher", "smoothed teacher, final"} <= names, chart

    # the teachers are done: ε now asks for a restart; T is live
    page.get_by_test_id("distill-eps").fill("0.3")
    page.get_by_test_id("distill-eps").dispatch_event("change")
    assert "restart" in page.locator("#eps-hint").inner_text()
    page.get_by_test_id("distill-temperature").fill("4")
    page.wait_for_function("() => document.querySelector('[data-testid=distill-status-t]').textContent === '4'")
    page.screenshot(path=str(artifacts / "distill.png"), full_page=True)

    # restart: the teachers train again with the new ε
    page.get_by_test_id("distill-restart").click()
    page.wait_for_function("() => document.querySelector('[data-testid=distill-status-step]').textContent === '0'")
    assert page.get_by_test_id("distill-status-phase").inner_text() == "teachers"
    page.wait_for_function("() => document.querySelector('[data-sub=\"teacher/smoothed\"]').textContent === 'ε = 0.3'")
    assert watched.errors == []
    assert watched.outside == []


def test_the_server_refuses_a_bad_setting_in_words(watched: Any, server_url: str) -> None:
    page = watched.page
    page.goto(server_url + "/distill")
    page.wait_for_function("() => !document.querySelector('[data-testid=distill-play]').disabled")
    fill(page, "distill-student-hidden", "0")
    assert "student hidden" in page.get_by_test_id("distill-error").inner_text()  # the page's own check
    page.evaluate("() => { const s = document.querySelector('[data-testid=distill-seed]'); s.min = ''; s.max = ''; }")
    page.get_by_test_id("distill-student-hidden").fill("8")
    fill(page, "distill-seed", "-1")
    assert "seed" in page.get_by_test_id("distill-error").inner_text()
    assert watched.errors == []
