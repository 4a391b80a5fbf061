"""Browser tests of the live explorer page (issue 3, and issue 4's page items): a real server, a real Chromium.

Positions on the template plane are compared through each point's distances to the three templates,
which do not change when the plane's basis is rotated or reflected (Müller et al. 2019 §1.1).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.pages import SOCKET, wait_drawn

Watched = Any  # tests/e2e/conftest.py: .page, .base, .errors, .requests, .outside

pytestmark = pytest.mark.e2e

HOOKS = [
    "eps-slider", "play-toggle", "step-once", "reset", "panel-baseline", "panel-smoothed", "loss-chart",
    "gap-chart", "distance-chart", "status-step", "status-eps", "status-fps", "status-rx", "calibration-panel",
    "confidence-chart", "targets-chart", "copy-link", "banner",
]


def open_page(w: Watched, query: str = "") -> Any:
    """Open the explorer and wait until both panels show a frame."""
    page = w.page
    page.goto(f"{w.base}/{query}")
    page.wait_for_function(
        "() => ['panel-baseline', 'panel-smoothed'].every(id => document.getElementById(id).dataset.step !== undefined)"
    )
    return page


def step(page: Any) -> int:
    return int(page.get_by_test_id("status-step").inner_text())


def shown_step(page: Any, run: str) -> int:
    return int(page.get_by_test_id(f"panel-{run}").get_attribute("data-step") or -1)


def wait_shown(page: Any, n: int) -> None:
    """Wait until both panels have drawn the frame of step n, exactly (not on the way to it)."""
    wait_drawn(page, n)


def points(page: Any, run: str) -> dict[str, list[float]]:
    """Point and template coordinates as the panel's point layer draws them (its painter's positions)."""
    result: dict[str, list[float]] = page.evaluate(
        "async id => (await document.getElementById(id).plane.snapshot()).drawn", f"panel-{run}"
    )
    return result


def template_distances(p: dict[str, list[float]]) -> list[float]:
    """Each point's distances to the three templates (invariant to the plane's rotation and reflection)."""
    return [math.hypot(x - tx, y - ty) for x, y in zip(p["x"], p["y"], strict=True)
            for tx, ty in zip(p["tx"][:3], p["ty"][:3], strict=True)]


def max_diff(a: list[float], b: list[float]) -> float:
    assert len(a) == len(b)
    return max(abs(u - v) for u, v in zip(a, b, strict=True))


def set_eps(page: Any, eps: float) -> None:
    page.get_by_test_id("eps-slider").fill(str(eps))


def reset_and_wait(page: Any, eps_text: str) -> None:
    page.get_by_test_id("reset").click()
    page.wait_for_function(
        "t => document.querySelector('[data-testid=status-step]').textContent === '0'"
        " && document.querySelector('[data-testid=status-eps]').textContent === t", arg=eps_text
    )
    wait_shown(page, 0)


def take_steps(page: Any, n: int) -> None:
    """Exactly n steps with the step buttons (+10 and step)."""
    for _ in range(n // 10):
        page.get_by_test_id("step-ten").click()
    for _ in range(n % 10):
        page.get_by_test_id("step-once").click()


def test_page_loads_clean_and_offline(watched: Watched) -> None:
    page = open_page(watched)
    for hook in HOOKS:
        assert page.get_by_test_id(hook).count() == 1, hook
    for key in ("distinct", "similar", "noisy", "unshuffled", "digits", "digits-similar"):
        assert page.get_by_test_id(f"scenario-{key}").count() == 1, key
    assert page.get_by_test_id("status-eps").inner_text() == "0.10"
    assert "ε/K" in page.locator(".explain").inner_text()
    page.wait_for_function("() => document.getElementById('loss-chart').data")
    page.wait_for_timeout(500)
    assert watched.errors == []
    assert watched.outside == []
    assert any("/static/vendor/plotly" in url for url in watched.requests)


def test_play_advances_and_both_panels_move(watched: Watched) -> None:
    page = open_page(watched)
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent >= 30")
    first = {run: points(page, run) for run in ("baseline", "smoothed")}
    first_step = step(page)
    page.wait_for_function(
        "s => +document.querySelector('[data-testid=status-step]').textContent >= s + 45", arg=first_step
    )
    page.wait_for_timeout(300)
    for run in ("baseline", "smoothed"):
        later = points(page, run)
        assert max_diff(first[run]["x"] + first[run]["y"], later["x"] + later["y"]) > 1e-3, f"{run} did not move"
    assert int(page.get_by_test_id("status-fps").inner_text()) > 0
    page.wait_for_function("() => document.getElementById('loss-chart').data[0].x.length > 3")
    page.get_by_test_id("play-toggle").click()
    assert watched.errors == []


def test_eps_slider_is_confirmed_by_the_server(watched: Watched) -> None:
    """The slider's ε comes back in the server's state and frames (how fast: bench/browser.py measures it)."""
    page = open_page(watched)
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent > 5")
    set_eps(page, 0.3)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=status-eps]').textContent === '0.30'", timeout=15_000
    )
    assert "eps=0.3" in page.url
    page.wait_for_function("() => document.getElementById('panel-eps').textContent === '0.30'")
    assert watched.errors == []


def test_smoothed_panel_follows_eps_and_baseline_does_not(watched: Watched) -> None:
    page = open_page(watched, "?seed=3&play=0")
    n = 15
    set_eps(page, 0.1)
    reset_and_wait(page, "0.10")
    take_steps(page, n)
    wait_shown(page, n)
    base_a, smooth_a = (template_distances(points(page, run)) for run in ("baseline", "smoothed"))

    set_eps(page, 0.3)
    reset_and_wait(page, "0.30")
    take_steps(page, n)
    wait_shown(page, n)
    base_b, smooth_b = (template_distances(points(page, run)) for run in ("baseline", "smoothed"))

    assert max_diff(base_a, base_b) < 1e-4, "the one-hot run must not depend on ε"
    assert max_diff(smooth_a, smooth_b) > 1e-3, "the smoothed run must change with ε"
    assert watched.errors == []


def test_scenario_link_reproduces_its_settings_and_runs(watched: Watched) -> None:
    page = open_page(watched, "?scenario=noisy")
    assert page.get_by_test_id("label_noise").input_value() == "0.2"
    assert page.get_by_test_id("eps-value").input_value() == "0.2"
    assert page.get_by_test_id("dataset").input_value() == "blobs"
    assert "active" in (page.get_by_test_id("scenario-noisy").get_attribute("class") or "")
    assert "flipped" in page.get_by_test_id("look-for").inner_text()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent >= 20")
    assert page.get_by_test_id("status-eps").inner_text() == "0.20"
    rings = page.evaluate("async () => (await document.getElementById('panel-smoothed').plane.snapshot()).flips.length")
    assert rings > 0, "flipped labels are marked"
    params = parse_qs(urlsplit(page.url).query)
    assert params["scenario"] == ["noisy"] and params["label_noise"] == ["0.2"] and params["seed"] == ["0"]


def test_a_shared_link_gives_the_same_run(watched: Watched) -> None:
    page = open_page(watched, "?scenario=similar&seed=11&play=0")
    link = page.url
    assert page.get_by_test_id("similarity").input_value() == "0.85"
    runs = []
    for _ in range(2):
        page = open_page(watched, "?" + urlsplit(link).query)
        take_steps(page, 12)
        wait_shown(page, 12)
        runs.append([template_distances(points(page, run)) for run in ("baseline", "smoothed")])
    for a, b in zip(runs[0], runs[1], strict=True):
        assert max_diff(a, b) < 1e-4
    assert watched.errors == []


def test_hide_parameter_hides_controls(watched: Watched) -> None:
    page = open_page(watched, "?hide=lr,seed,dataset")
    for name in ("lr", "seed", "dataset"):
        assert not page.get_by_test_id(name).is_visible(), name
    assert page.get_by_test_id("eps-slider").is_visible()
    assert "hide=lr%2Cseed%2Cdataset" in page.url or "hide=lr,seed,dataset" in page.url


def test_server_errors_are_shown_and_dismissable(watched: Watched) -> None:
    page = open_page(watched, "?points=5")
    message = page.get_by_test_id("error-message").first
    message.wait_for()
    assert "points" in message.inner_text()
    page.wait_for_function("() => document.getElementById('points').value === '600'")  # back to the server's value
    message.get_by_role("button", name="dismiss").click()
    assert page.get_by_test_id("error-message").count() == 0
    assert watched.errors == []


def test_export_csv_json_and_png(watched: Watched, tmp_path: Path) -> None:
    page = open_page(watched)
    take_steps(page, 5)
    wait_shown(page, 5)
    with page.expect_download() as csv_download:
        page.get_by_test_id("export-csv").click()
    csv_text = Path(csv_download.value.path()).read_text()
    header = csv_text.splitlines()[0].split(",")
    assert header[0] == "step" and "baseline_train_loss" in header and "smoothed_loss_floor" in header
    with page.expect_download() as json_download:
        page.get_by_test_id("export-json").click()
    data = json.loads(Path(json_download.value.path()).read_text())
    assert data["settings"]["eps"] == 0.1 and data["history"][-1]["step"] == 5
    with page.expect_download() as png_download:
        page.locator("[data-png=loss-chart]").click()
    assert Path(png_download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert watched.errors == [] and watched.outside == []


def test_divergence_is_shown_prominently(watched: Watched) -> None:
    page = watched.page
    message = "training diverged at step 12 (learning rate too high?); reset or lower it"
    hello = {"type": "hello", "playing": False, "step": 0, "speed": 3, "fps": 30, "lr": 10.0, "eps": 0.1,
             "sweep_eps": None, "mode": "twin", "config": {"dataset": "blobs"}, "device": "cpu",
             "diverged": None, "version": "test"}

    def fake_server(ws: Any) -> None:  # a stand-in server: hello, then the divergence report
        ws.send(json.dumps(hello))
        ws.send(json.dumps({"type": "error", "message": message, "code": "diverged"}))
        ws.send(json.dumps({**hello, "type": "state", "step": 11, "diverged": message}))

    page.route_web_socket(SOCKET, fake_server)
    page.goto(watched.base + "/?lr=10")
    alert = page.get_by_test_id("divergence")
    alert.wait_for()
    assert "Training diverged at step 12" in alert.inner_text()
    assert page.get_by_test_id("error-message").first.is_visible()
    assert page.get_by_test_id("play-toggle").inner_text().endswith("play")
    assert watched.errors == []


def test_copy_link_confirms(watched: Watched) -> None:
    page = open_page(watched, "?seed=5&eps=0.35")
    page.get_by_test_id("copy-link").click()
    toast = page.locator(".toast")
    toast.wait_for()
    assert "Link copied" in toast.inner_text() or "seed=5" in toast.inner_text()
    assert watched.errors == []


def test_close_code_1013_shows_the_reason(watched: Watched) -> None:
    page = watched.page
    full = "The explorer is full (2/2). Try again in a minute."
    page.route_web_socket(SOCKET, lambda ws: ws.close(code=1013, reason=full))
    page.goto(watched.base + "/")
    banner = page.get_by_test_id("banner")
    banner.wait_for()
    assert full in banner.inner_text()
    assert page.get_by_role("button", name="Try again").is_visible()
    assert watched.errors == []


def test_lost_connection_reconnects_with_the_url_settings(watched: Watched) -> None:
    page = watched.page
    dropped: list[int] = []

    def drop_first(ws: Any) -> None:
        ws.connect_to_server()
        if not dropped:
            dropped.append(1012)
            ws.close(code=1012, reason="service restart")

    page.route_web_socket(SOCKET, drop_first)
    page.goto(watched.base + "/?eps=0.25")
    page.wait_for_function("() => document.getElementById('banner-text').textContent.includes('reconnecting')")
    page.wait_for_function("() => document.querySelector('[data-testid=status-eps]').textContent === '0.25'")
    page.wait_for_function("() => document.getElementById('banner').hidden")
    assert "eps=0.25" in page.url
    assert watched.errors == []


def test_class_names_come_from_the_server(watched: Watched) -> None:
    page = open_page(watched, "?scenario=digits-similar&play=0")
    page.wait_for_function("() => document.querySelector('.legend [data-class-name=\"0\"]').textContent === 'digit 3'")
    legend = page.evaluate("() => [...document.querySelectorAll('.legend [data-class-name]')].map(e => e.textContent)")
    assert legend == ["digit 3", "digit 5", "digit 8"]
    page.wait_for_function(
        "() => (document.getElementById('targets-chart').data || [{x: []}])[0].x[1] === 'digit 5 (true)'"
    )
    assert watched.errors == []


def test_regions_canvas_and_charts_follow_the_measurements(watched: Watched) -> None:
    page = open_page(watched)
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent >= 60")
    page.get_by_test_id("input-panel").scroll_into_view_if_needed()
    page.wait_for_function("""() => { const c = document.querySelector('#input-smoothed .regions canvas');
        return c && c.getContext('2d').getImageData(24, 24, 1, 1).data[3] === 255
            && (document.getElementById('input-smoothed').data || [{x: []}])[0].x.length === 300; }""")
    page.wait_for_function("() => document.getElementById('loss-chart').data[0].x.length > 5")
    page.get_by_test_id("play-toggle").click()
    steps = page.evaluate("() => document.getElementById('loss-chart').data[0].x")
    assert all(b > a for a, b in zip(steps, steps[1:], strict=False)), "one point per measurement, in step order"
    assert watched.errors == []


def test_screenshot(watched: Watched, artifacts: Path) -> None:
    page = open_page(watched, "?scenario=noisy")
    page.wait_for_function(
        "() => +document.querySelector('[data-testid=status-step]').textContent >= 300", timeout=30_000
    )
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "explorer.png"), full_page=True)
    assert (artifacts / "explorer.png").stat().st_size > 20_000
    assert watched.errors == []
