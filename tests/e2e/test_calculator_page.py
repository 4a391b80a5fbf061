"""Browser test of the loss calculator page (/calculator): a real server, a real Chromium (issue 4, item 5).

The blog's worked examples (blog §2, its arithmetic corrected): p2 scores 0.675, not the 0.29 it printed; p1 0.610;
the over-confident vector 1.382. Fixtures come from tests/e2e/conftest.py.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def losses(page: Any) -> tuple[str, str]:
    return page.get_by_test_id("calc-onehot-loss").inner_text(), page.get_by_test_id("calc-smoothed-loss").inner_text()


def wait_text(page: Any, testid: str, text: str) -> None:
    """Wait until the element's text is exactly `text` (the server's answer has arrived)."""
    page.wait_for_function("([id, t]) => document.querySelector(`[data-testid=${id}]`).textContent === t",
                           arg=[testid, text])


def wait_smoothed(page: Any, text: str) -> None:
    wait_text(page, "calc-smoothed-loss", text)


def test_calculator_shows_the_blogs_examples(watched: Any, server_url: str, artifacts: Path) -> None:
    page = watched.page
    calls: list[dict[str, Any]] = []
    page.on("request", lambda r: calls.append(r.post_data_json) if r.url.endswith("/api/calculate") else None)
    page.goto(server_url + "/calculator")

    # pre-filled with the blog's p2: K = 4, ε = 0.2, label 2 (sent 0-based)
    wait_smoothed(page, "0.675")
    assert page.get_by_test_id("calc-label").input_value() == "1"
    assert page.get_by_test_id("calc-label").locator("option:checked").inner_text() == "2"
    assert page.get_by_test_id("calc-eps").input_value() == "0.2"
    assert page.get_by_test_id("calc-probs").locator("input").count() == 4
    assert calls[0] == {"probs": [0.01, 0.79, 0.15, 0.05], "label": 1, "eps": 0.2}
    assert losses(page) == ("0.236", "0.675")
    note = page.get_by_test_id("calc-note")
    assert note.is_visible() and "0.29" in note.inner_text() and "0.675" in note.inner_text()
    rows = page.get_by_test_id("calc-gradient").locator("tbody tr")
    assert rows.count() == 4
    assert rows.nth(1).locator("td").nth(2).inner_text() == "0.8500"  # q' = 1 − ε + ε/K
    assert rows.nth(0).locator("td").nth(2).inner_text() == "0.0500"  # ε/K, not ε/(K − 1)
    assert rows.nth(1).locator("td").nth(3).inner_text() == "−0.0600"  # p − q' = 0.79 − 0.85
    assert "ε/K" in page.get_by_test_id("calc-convention").inner_text()

    page.screenshot(path=str(artifacts / "calculator.png"), full_page=True)

    page.get_by_test_id("calc-example-p1").click()
    wait_smoothed(page, "0.610")
    assert not note.is_visible()
    page.get_by_test_id("calc-example-overconfident").click()
    wait_smoothed(page, "1.382")
    page.get_by_test_id("calc-example-k3-good").click()
    wait_text(page, "calc-onehot-loss", "0.357")
    page.get_by_test_id("calc-example-k3-bad").click()
    wait_text(page, "calc-onehot-loss", "2.303")
    page.get_by_test_id("calc-example-p2").click()
    wait_smoothed(page, "0.675")
    assert note.is_visible()

    assert watched.errors == []
    assert watched.outside == []


def test_calculator_drag_type_and_errors(watched: Any, server_url: str, artifacts: Path) -> None:
    page = watched.page
    page.goto(server_url + "/calculator")
    wait_smoothed(page, "0.675")

    # dragging a bar sets that class and rescales the others to keep the sum 1
    track = page.get_by_test_id("calc-probs").locator(".bar-track").nth(1)
    box = track.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.1, steps=5)
    page.mouse.up()
    boxes = page.get_by_test_id("calc-probs").locator("input")
    values = [float(v) for v in boxes.evaluate_all("xs => xs.map(x => x.value)")]
    assert abs(values[1] - 0.9) < 0.02 and abs(sum(values) - 1) < 1e-9
    assert abs(values[2] / values[3] - 3) < 0.1  # the others keep their proportions
    one_hot = f"{-math.log(values[1]):.3f}"  # −ln p_y of the dragged vector
    wait_text(page, "calc-onehot-loss", one_hot)

    # typed values that do not add up to 1 are divided by their sum (and the page says so)
    page.get_by_test_id("calc-example-k3-good").click()
    page.get_by_test_id("calc-p1").fill("0.4")  # [0.4, 0.7, 0.1]: sum 1.2
    assert "1.200" in page.get_by_test_id("calc-sum").inner_text()
    wait_text(page, "calc-onehot-loss", "0.539")  # −ln(0.7/1.2)

    # K and the label: 1-based in the page
    page.get_by_test_id("calc-k").fill("6")
    page.get_by_test_id("calc-k").dispatch_event("change")
    assert page.get_by_test_id("calc-probs").locator("input").count() == 6
    page.get_by_test_id("calc-label").select_option(label="6")
    page.wait_for_function("() => document.querySelector('#calc-gradient tbody tr:nth-child(6).true')")

    # the server's message for input it refuses
    page.get_by_test_id("calc-p2").fill("0")
    page.wait_for_function("() => document.querySelector('[data-testid=calc-error]').textContent.includes('positive')")
    assert page.get_by_test_id("calc-smoothed-loss").inner_text() == "–"
    page.get_by_test_id("calc-p2").fill("0.2")
    page.get_by_test_id("calc-eps").fill("1.5")
    page.wait_for_function("() => !document.querySelector('[data-testid=calc-error]').hidden")
    assert "1" in page.get_by_test_id("calc-error").inner_text()

    assert [e for e in watched.errors if "422" not in e] == []
    assert watched.outside == []
