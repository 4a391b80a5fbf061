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
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import VIEWPORT, Watched
from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e

RUNS = ("baseline", "smoothed")


def open_page(w: Watched, query: str = "") -> Any:
    """Open the explorer and wait until both panels have drawn a frame with Plotly's axes under it."""
    page = w.page
    page.goto(f"{w.base}/{query}")
    page.wait_for_function(
        """async () => { for (const id of ['panel-baseline', 'panel-smoothed']) {
             const el = document.getElementById(id);
             if (!el.plane || !el._fullLayout) return false;
             const s = await el.plane.snapshot();
             if (!s.draws) return false; }
           return true; }"""
    )
    return page


def snapshot(page: Any, run: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("async id => await document.getElementById(id).plane.snapshot()",
                                           f"panel-{run}")
    return result


def wait_settled(page: Any, step: int | None = None) -> None:
    """Both panels show a frame exactly (no motion left), of `step` when given."""
    page.wait_for_function(
        """async step => { for (const id of ['panel-baseline', 'panel-smoothed']) {
             const s = await document.getElementById(id).plane.snapshot();
             if (!s.settled || !s.draws || (step !== null && s.drawnStep !== step)) return false; }
           return true; }""",
        arg=step,
    )


def take_steps(page: Any, n: int) -> None:
    for _ in range(n // 10):
        page.get_by_test_id("step-ten").click()
    for _ in range(n % 10):
        page.get_by_test_id("step-once").click()


def decode_frame(payload: bytes) -> dict[str, Any]:
    """A binary frame (docs/protocol.md): header, then per run its points and templates as float lists."""
    (length,) = struct.unpack_from("<I", payload, 0)
    header = json.loads(payload[4:4 + length])
    lead = 4 + length
    start = lead + (8 - lead % 8) % 8
    arrays: dict[str, tuple[float, ...]] = {}
    for spec in header["arrays"]:
        count = 1
        for d in spec["shape"]:
            count *= d
        if spec["dtype"] == "f4":
            arrays[spec["name"]] = struct.unpack_from(f"<{count}f", payload, start + spec["offset"])
    runs = {}
    for i, run in enumerate(header["runs"]):
        runs[run["name"]] = {"points": arrays[f"{i}.points"], "templates": arrays[f"{i}.templates"]}
    return {"step": header["step"], "playing": header["playing"], "runs": runs}


class FrameLog:
    """Every binary frame the page receives on its WebSockets, in order (decoded on demand)."""

    def __init__(self, page: Any) -> None:
        self.frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.frames.append(payload)

    def last(self) -> dict[str, Any]:
        return decode_frame(self.frames[-1])


@pytest.mark.parametrize("paint", ["worker", "main"])
def test_point_layer_sits_exactly_on_plotlys_axes(watched: Watched, paint: str) -> None:
    """Each template is drawn where Plotly's axis map puts its coordinates, within a pixel; the canvas
    covers the graph and the plot area is Plotly's; one unit is as long on both axes."""
    page = open_page(watched, "?seed=2&play=0" + ("&paint=main" if paint == "main" else ""))
    take_steps(page, 20)
    wait_settled(page)
    for run in RUNS:
        # the layer as drawn and Plotly's axes, taken together once the layer's view is Plotly's current one
        # (a range that grows or shrinks reaches the painter on the next animation frame)
        handle = page.wait_for_function(
            """async id => { const el = document.getElementById(id);
                 const s = await el.plane.snapshot();
                 const fl = el._fullLayout, xa = fl.xaxis, ya = fl.yaxis, v = s.view;
                 if (!s.settled || !v || v.x0 !== xa.range[0] || v.x1 !== xa.range[1] || v.y0 !== ya.range[0]
                     || v.y1 !== ya.range[1] || v.w !== xa._length || v.h !== ya._length) return null;
                 const svg = el.querySelector('svg.main-svg').getBoundingClientRect();
                 const bg = el.querySelector('.bglayer rect.bg').getBoundingClientRect();
                 const canvas = el.querySelector('canvas.points-layer').getBoundingClientRect();
                 return {s, svg: [svg.left, svg.top, svg.width, svg.height],
                         bg: [bg.left, bg.top, bg.width, bg.height],
                         canvas: [canvas.left, canvas.top, canvas.width, canvas.height],
                         px: s.target.tx.map((x) => svg.left + xa._offset + xa.l2p(x)),
                         py: s.target.ty.map((y) => svg.top + ya._offset + ya.l2p(y)),
                         xr: xa.range, yr: ya.range, w: xa._length, h: ya._length}; }""",
            arg=f"panel-{run}",
        )
        plotly = handle.json_value()
        s = plotly["s"]
        assert s["painter"] == paint
        for a, b in zip(plotly["canvas"], plotly["svg"], strict=True):
            assert abs(a - b) < 0.5, f"{run}: the canvas covers the graph ({plotly['canvas']} vs {plotly['svg']})"
        view = s["view"]
        plot = [plotly["canvas"][0] + view["l"], plotly["canvas"][1] + view["t"], view["w"], view["h"]]
        for a, b in zip(plot, plotly["bg"], strict=True):
            assert abs(a - b) < 1, f"{run}: the plot area is Plotly's ({plot} vs {plotly['bg']})"
        assert s["drawn"]["tx"] == s["target"]["tx"] and s["drawn"]["ty"] == s["target"]["ty"]
        for k in range(3):
            drawn_x = plotly["canvas"][0] + s["templatesPx"][2 * k]
            drawn_y = plotly["canvas"][1] + s["templatesPx"][2 * k + 1]
            assert abs(drawn_x - plotly["px"][k]) < 1, f"{run}: template {k} x {drawn_x} vs Plotly's {plotly['px'][k]}"
            assert abs(drawn_y - plotly["py"][k]) < 1, f"{run}: template {k} y {drawn_y} vs Plotly's {plotly['py'][k]}"
        per_px_x = (plotly["xr"][1] - plotly["xr"][0]) / plotly["w"]
        per_px_y = (plotly["yr"][1] - plotly["yr"][0]) / plotly["h"]
        assert abs(per_px_x / per_px_y - 1) < 0.01, "equal aspect: one unit as long on both axes"
    assert watched.errors == []


def test_paused_run_shows_exactly_the_servers_last_frame(watched: Watched) -> None:
    log = FrameLog(watched.page)
    page = open_page(watched, "?seed=4&play=0")
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => +document.querySelector('[data-testid=status-step]').textContent >= 60")
    page.get_by_test_id("play-toggle").click()
    page.wait_for_function("() => document.querySelector('[data-testid=play-toggle]').ariaPressed === 'false'")
    page.wait_for_function("""async () => { const s = await document.getElementById('panel-smoothed').plane.snapshot();
        return s.settled && s.drawnStep === +document.querySelector('[data-testid=status-step]').textContent; }""")
    page.wait_for_timeout(400)  # frames still on the way after the pause settle too
    last = log.last()
    assert not last["playing"]
    wait_settled(page, last["step"])
    for run in RUNS:
        s = snapshot(page, run)
        frame = last["runs"][run]
        xy = [v for pair in zip(s["drawn"]["x"], s["drawn"]["y"], strict=True) for v in pair]
        assert len(xy) == len(frame["points"])
        assert max(abs(a - b) for a, b in zip(xy, frame["points"], strict=True)) == 0, f"{run}: points as sent"
        templates = [v for pair in zip(s["drawn"]["tx"], s["drawn"]["ty"], strict=True) for v in pair]
        assert templates == list(frame["templates"]), f"{run}: templates as sent"
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
