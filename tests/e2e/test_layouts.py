"""Browser tests of the explorer's layouts: a phone (issue 11: the panels first, play and ε within reach, no
sideways scrolling) and the projector view `?present=1` (issue 15: both template planes large with the loss
and logit-gap charts, the controls folded into a slim bar, all on one 1920 × 1080 screen)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Watched
from tests.e2e.pages import wait_drawn

pytestmark = pytest.mark.e2e

def open_page(w: Watched, query: str) -> Any:
    page = w.page
    page.goto(f"{w.base}/{query}")
    wait_drawn(page, plotly=True)
    page.wait_for_function("() => document.getElementById('loss-chart').data")
    return page


def box(page: Any, testid: str) -> dict[str, float]:
    """Where an element is on the screen (viewport coordinates)."""
    result: dict[str, float] = page.evaluate(
        """id => { const r = document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
                   return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                           width: r.width, height: r.height}; }""",
        testid,
    )
    return result


def reachable(page: Any, testid: str) -> bool:
    """On screen now, and the topmost thing at its centre (not under a bar or a card)."""
    result: bool = page.evaluate(
        """id => { const el = document.querySelector(`[data-testid="${id}"]`); const r = el.getBoundingClientRect();
                   if (r.width === 0 || r.top < 0 || r.bottom > innerHeight || r.left < 0 || r.right > innerWidth) {
                     return false; }
                   const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                   return hit === el || el.contains(hit); }""",
        testid,
    )
    return result


def test_phone_puts_a_panel_on_the_first_screen_with_play_and_eps_in_reach(phone: Watched) -> None:
    page = open_page(phone, "?play=0")
    assert page.evaluate("() => scrollY") == 0
    bar = box(page, "transport")
    first = box(page, "panel-baseline")
    assert first["top"] >= 0 and first["bottom"] <= bar["top"], f"a whole panel above the play bar: {first}, {bar}"
    assert first["width"] >= 300, f"the panel uses the phone's width: {first}"
    for hook in ("play-toggle", "eps-slider", "eps-value"):
        assert reachable(page, hook), f"{hook} within reach on the first screen"
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), "no sideways scrolling"
    page.get_by_test_id("play-toggle").tap()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent > 10")
    page.mouse.wheel(0, 1500)
    page.wait_for_function("() => scrollY > 500")
    for hook in ("play-toggle", "eps-slider"):
        assert reachable(page, hook), f"{hook} still within reach after scrolling down to the charts"
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    page.get_by_test_id("play-toggle").tap()
    assert phone.errors == []


def test_present_view_shows_both_planes_large_and_two_charts_without_scrolling(projector: Watched) -> None:
    page = open_page(projector, "?present=1&play=0")
    assert page.evaluate("() => document.documentElement.classList.contains('present')")
    assert page.evaluate("() => document.documentElement.scrollHeight <= innerHeight"), "nothing to scroll"
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    for hook in ("panel-baseline", "panel-smoothed", "loss-chart", "gap-chart"):
        r = box(page, hook)
        assert r["top"] >= 0 and r["left"] >= 0 and r["bottom"] <= 1080 and r["right"] <= 1920, f"{hook} on screen: {r}"
    for hook in ("panel-baseline", "panel-smoothed"):
        r = box(page, hook)
        assert r["width"] >= 800 and r["height"] >= 450, f"{hook} large: {r}"
    for hook in ("loss-chart", "gap-chart"):
        assert box(page, hook)["height"] >= 180, hook
    for hook in ("distance-chart", "calibration-panel", "confidence-chart", "targets-chart"):
        assert not page.get_by_test_id(hook).is_visible(), f"{hook} is left out of the projector view"
    for hook in ("play-toggle", "eps-slider", "eps-value", "more-controls"):
        assert reachable(page, hook), f"{hook} in the slim bar"
    ticks = page.evaluate("() => document.getElementById('panel-smoothed')._fullLayout.xaxis.tickfont.size")
    assert ticks >= 16, "tick labels readable from the back of a room"
    assert not page.get_by_test_id("lr").is_visible(), "the other controls are folded away"
    page.get_by_test_id("more-controls").click()
    assert page.get_by_test_id("lr").is_visible()
    page.keyboard.press("Escape")
    assert not page.get_by_test_id("lr").is_visible()
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent > 10")
    assert "present=1" in page.url, "the address bar keeps the projector view"
    page.get_by_test_id("play-toggle").click()
    assert projector.errors == []
