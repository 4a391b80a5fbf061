"""Browser tests of the template planes' point layer (issue 11): a canvas exactly on Plotly's axes, motion
between server frames, the last frame exactly when paused, no motion across a reset or a new display
subsample, PNG export with the points.

Positions come from the page's own hook (`await el.plane.snapshot()` on a panel's graph element, see
static/js/explorer/plane.js) and are checked against what Plotly and the server say independently:
Plotly's axis map and SVG plot area, the binary frames as they arrived on the WebSocket (decoded here
as docs/protocol.md says). No wall-clock asserts: waits poll for states, rates are compared with each
other, never with a time.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import VIEWPORT, Watched
from tests.e2e.pages import FrameLog, wait_drawn, wait_for
from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e

RUNS = ("baseline", "smoothed")


def open_page(w: Watched, query: str = "") -> Any:
    """Open the explorer and wait until both panels have drawn a frame with Plotly's axes under it."""
    page = w.page
    page.goto(f"{w.base}/{query}")
    wait_drawn(page, plotly=True)
    return page


def snapshot(page: Any, run: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("async id => await document.getElementById(id).plane.snapshot()",
                                           f"panel-{run}")
    return result


def wait_settled(page: Any, step: int | None = None) -> None:
    """Both panels show a frame exactly (no motion left), of `step` when given."""
    wait_drawn(page, step)


def take_steps(page: Any, n: int) -> None:
    for _ in range(n // 10):
        page.get_by_test_id("step-ten").click()
    for _ in range(n % 10):
        page.get_by_test_id("step-once").click()


ALIGNMENT = """async id => {
  const el = document.getElementById(id);
  const s = await el.plane.snapshot();
  const v = s.view;
  if (!s.settled || !v || !s.templatesPx) return {ok: false, why: 'not drawn yet'};
  const svg = el.querySelector('svg.main-svg').getBoundingClientRect();
  const canvas = el.querySelector('canvas.points-layer').getBoundingClientRect();
  const bg = el.querySelector('.bglayer rect.bg').getBoundingClientRect();
  const shift = (g, axis) => {
    const t = g.transform.baseVal.consolidate();
    return t ? [t.matrix.e, t.matrix.f][axis] : 0; };
  // Plotly's gridlines, where its SVG draws them (page pixels), against the layer's map of their values
  const grid = [];
  for (const g of el.querySelectorAll('.gridlayer path.xgrid')) {
    grid.push([svg.left + shift(g, 0), canvas.left + v.l + (g.__data__.x - v.x0) * v.w / (v.x1 - v.x0)]);
  }
  for (const g of el.querySelectorAll('.gridlayer path.ygrid')) {
    grid.push([svg.top + shift(g, 1), canvas.top + v.t + (v.y1 - g.__data__.x) * v.h / (v.y1 - v.y0)]);
  }
  // the templates as drawn (page pixels) against Plotly's axis map of the newest frame's coordinates
  const fl = el._fullLayout;
  const templates = [0, 1, 2].map((k) => [
    [canvas.left + s.templatesPx[2 * k], svg.left + fl.xaxis._offset + fl.xaxis.l2p(s.target.tx[k])],
    [canvas.top + s.templatesPx[2 * k + 1], svg.top + fl.yaxis._offset + fl.yaxis.l2p(s.target.ty[k])]]).flat();
  const off = (pairs) => Math.max(...pairs.map(([a, b]) => Math.abs(a - b)));
  const result = {
    painter: s.painter, gridOff: off(grid), gridLines: grid.length, templatesOff: off(templates),
    canvasOff: off([[canvas.left, svg.left], [canvas.top, svg.top], [canvas.width, svg.width],
                    [canvas.height, svg.height]]),
    plotOff: off([[canvas.left + v.l, bg.left], [canvas.top + v.t, bg.top], [v.w, bg.width], [v.h, bg.height]]),
    aspect: ((v.x1 - v.x0) / v.w) / ((v.y1 - v.y0) / v.h),
    drawnIsNewest: JSON.stringify([s.drawn.tx, s.drawn.ty]) === JSON.stringify([s.target.tx, s.target.ty]),
  };
  result.ok = result.gridLines >= 4 && result.gridOff < 1 && result.templatesOff < 1 && result.canvasOff < 0.5
    && result.plotOff < 1 && Math.abs(result.aspect - 1) < 0.01 && result.drawnIsNewest;
  return result; }"""


@pytest.mark.parametrize("paint", ["worker", "main"])
def test_point_layer_sits_exactly_on_plotlys_axes(watched: Watched, paint: str) -> None:
    """The layer's map from plane coordinates to pixels is the one Plotly's SVG shows: its gridlines fall
    where the layer puts their values, and each template is drawn where Plotly's axis map puts its
    coordinates, within a pixel; the canvas covers the graph; one unit is as long on both axes. (A range
    that grows or shrinks reaches the layer an animation frame later: the check waits for it.)"""
    page = open_page(watched, "?seed=2&play=0" + ("&paint=main" if paint == "main" else ""))
    take_steps(page, 20)
    wait_settled(page, 20)
    for run in RUNS:
        try:
            result = wait_for(page, f"async id => {{ const r = await ({ALIGNMENT})(id); return r.ok ? r : null; }}",
                              f"panel-{run}", timeout=10)
        except AssertionError:
            result = page.evaluate(ALIGNMENT, f"panel-{run}")
        assert result["ok"], f"{run}: the layer is not on Plotly's axes: {result}"
        assert result["painter"] == paint
    assert watched.errors == []


def test_paused_run_shows_exactly_the_servers_last_frame(watched: Watched) -> None:
    log = FrameLog(watched.page)
    page = open_page(watched, "?seed=4&play=0")
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent >= 60")
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => document.querySelector('[data-testid=play-toggle]').ariaPressed === 'false'")
    wait_for(page, """async () => { const s = await document.getElementById('panel-smoothed').plane.snapshot();
        return s.settled && s.drawnStep === +document.querySelector('[data-testid=status-step]').textContent; }""")
    page.wait_for_timeout(400)  # frames still on the way after the pause settle too
    last = log.last()
    assert not last["playing"]
    wait_settled(page, last["step"])
    for run in RUNS:
        s = snapshot(page, run)
        frame = last["runs"][run]
        xy = [v for pair in zip(s["drawn"]["x"], s["drawn"]["y"], strict=True) for v in pair]
        sent = frame["points"].ravel().tolist()
        assert len(xy) == len(sent)
        assert max(abs(a - b) for a, b in zip(xy, sent, strict=True)) == 0, f"{run}: points as sent"
        templates = [v for pair in zip(s["drawn"]["tx"], s["drawn"]["ty"], strict=True) for v in pair]
        assert templates == frame["templates"].ravel().tolist(), f"{run}: templates as sent"
    assert watched.errors == []


def test_playing_moves_between_frames_and_a_reset_jumps(watched: Watched) -> None:
    page = open_page(watched, "?seed=6&play=0")
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent >= 90")
    before = snapshot(page, "smoothed")
    moves = [t for t in before["transitions"] if t["kind"] == "move"]
    assert moves, "while playing, the points move from frame to frame"
    assert all(t["to"] > t["from"] and t["ms"] > 0 for t in moves)
    top = before["step"]
    page.get_by_test_id("reset").click()
    page.wait_for_function(
        """top => { const n = +document.getElementById('panel-smoothed').dataset.step;
                    return n < top && +document.querySelector('[data-testid=status-step]').textContent < top; }""",
        arg=top,
    )
    for run in RUNS:
        after = snapshot(page, run)["transitions"]
        restart = [t for t in after if t["from"] is None or t["to"] < t["from"]]
        assert restart, f"{run}: the reset is in the transitions ({after[-5:]})"
        assert all(t["kind"] == "jump" for t in restart), f"{run}: no motion across a reset ({restart})"
        assert not any(t["kind"] == "move" and t["to"] < t["from"] for t in after)
    page.get_by_test_id("play-toggle").click()
    assert watched.errors == []


def test_a_new_run_jumps_too(watched: Watched) -> None:
    page = open_page(watched, "?seed=1&play=0")
    take_steps(page, 3)
    wait_settled(page, 3)
    page.get_by_test_id("seed").fill("2")
    page.get_by_test_id("seed").dispatch_event("change")
    page.wait_for_function("() => document.getElementById('panel-smoothed').dataset.step === '0'")
    wait_settled(page, 0)
    for run in RUNS:
        last = snapshot(page, run)["transitions"][-1]
        assert last["to"] == 0 and last["kind"] == "jump", last
    assert watched.errors == []


def test_png_export_of_a_panel_has_its_points(watched: Watched) -> None:
    page = open_page(watched, "?seed=3&play=0")
    take_steps(page, 10)
    wait_settled(page, 10)
    with page.expect_download() as download:
        page.locator("[data-png=panel-smoothed]").click()
    png = Path(download.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # pixels of each class's point colour (alpha 0.8 over white), as painted on the canvas: the axes alone
    # have none of them, and the templates are painted opaque
    counts = page.evaluate(
        """async (data) => { const img = new Image(); img.src = 'data:image/png;base64,' + data; await img.decode();
             const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
             const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
             const px = ctx.getImageData(0, 0, c.width, c.height).data;
             const want = ['#0072B2', '#E69F00', '#009E73'].map((h) => [1, 3, 5].map((i) =>
               0.8 * parseInt(h.slice(i, i + 2), 16) + 0.2 * 255));
             const n = [0, 0, 0];
             for (let i = 0; i < px.length; i += 4) want.forEach((w, k) => {
               const close = [0, 1, 2].every((j) => Math.abs(px[i + j] - w[j]) < 7);
               if (close) n[k]++; });
             return {n, size: [c.width, c.height]}; }""",
        base64.b64encode(png).decode(),
    )
    assert sum(1 for n in counts["n"] if n >= 150) >= 2, f"points of at least two classes in the PNG: {counts}"
    assert watched.errors == []


# ---- the 40-attendee setting: the server sends 10 frames per second --------------------------------------
@pytest.fixture(scope="module")
def capped_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ServerProcess(workers=1, base=tmp_path_factory.mktemp("e2e-capped"), env={"FPS_CAP": "10"}) as server:
        yield server.http


@pytest.fixture
def capped(browser: Any, capped_url: str) -> Iterator[Watched]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Watched(page, capped_url)
    context.close()


def test_at_fps_cap_10_more_frames_are_drawn_than_received(capped: Watched) -> None:
    log = FrameLog(capped.page)
    page = open_page(capped, "?seed=5&play=0")
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent >= 15")
    count = "() => document.getElementById('panel-smoothed').plane.painter.frames"
    drawn0, received0 = page.evaluate(count), len(log.frames)
    page.wait_for_timeout(2_000)  # a window to count in; nothing here is compared with a time
    drawn1, received1 = page.evaluate(count), len(log.frames)
    received, drawn = received1 - received0, drawn1 - drawn0
    assert received >= 3, f"frames came while playing ({received})"
    assert drawn > received, f"the panels move between frames: {drawn} drawn for {received} received"
    rx = int(page.get_by_test_id("status-rx").inner_text())
    fps = int(page.get_by_test_id("status-fps").inner_text())
    assert fps > rx > 0, f"the status bar: {fps} drawn/s, {rx} received/s"
    page.get_by_test_id("play-toggle").click()
    assert capped.errors == []
