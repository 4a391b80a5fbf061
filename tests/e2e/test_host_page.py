"""Browser test of the room page (/host): a real server, a real Chromium. The page renders with no console
error, asks nothing of any other server, and follows the room: an attendee who opens the explorer and
presses play shows up as a session with frames and steps per second. Fixtures: tests/e2e/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp

pytestmark = pytest.mark.e2e
LAN_NAME = "lan.example"  # resolved to 127.0.0.1 by this module's Chromium: the page opened by a "LAN" name


def wait_text(page: Any, testid: str, predicate: str) -> None:
    """Wait until `predicate` (JS, on the element's text `t`) holds: a refresh from /api/room has come."""
    page.wait_for_function(f"(id) => {{ const t = document.querySelector(`[data-testid=${{id}}]`).textContent; "
                           f"return {predicate}; }}", arg=testid, timeout=30_000)


def test_host_page_renders_and_follows_the_room(watched: Any, server_url: str, artifacts: Path) -> None:
    page = watched.page
    room_calls: list[str] = []
    page.on("request", lambda r: room_calls.append(r.url) if r.url.endswith("/api/room") else None)
    response = page.goto(server_url + "/host")
    assert response is not None and response.status == 200  # from 127.0.0.1 with no HOST_CODE: allowed
    # the browser tests share one server: wait for earlier tests' sessions to close; their errors count
    # for a minute, so ours are counted from here
    wait_text(page, "room-sessions", "t === '0'")
    assert not page.get_by_test_id("room-warning").is_visible()  # nobody plays: nothing to warn about
    errors_before = int(page.get_by_test_id("room-errors").inner_text())
    assert page.get_by_test_id("room-device").inner_text() == "cpu"
    # the test server listens on 127.0.0.1: no link for the room, and the page says why
    assert page.get_by_test_id("attendee-qr").count() == 0
    assert "127.0.0.1 only" in page.get_by_test_id("room-note").first.inner_text()

    attendee = page.context.new_page()
    attendee.on("console", lambda m: watched.errors.append(f"attendee console: {m.text}") if m.type == "error"
                else None)
    attendee.goto(server_url + "/?play=0")
    attendee.get_by_test_id("play-toggle").click()

    wait_text(page, "room-sessions", "t === '1'")
    wait_text(page, "room-fps", "Number(t) > 0")
    wait_text(page, "room-steps", "Number(t) > 0")
    assert page.get_by_test_id("room-conn").inner_text() == "live"
    rows = page.get_by_test_id("room-workers").locator("tbody tr")
    assert rows.count() == 1 and rows.nth(0).locator("td").nth(1).inner_text() == "1"
    assert int(page.get_by_test_id("room-errors").inner_text()) <= errors_before  # none sent to our attendee
    page.screenshot(path=str(artifacts / "host.png"), full_page=True)

    attendee.close()
    wait_text(page, "room-sessions", "t === '0'")
    wait_text(page, "room-fps", "t === '–'")
    assert len(room_calls) >= 3, room_calls  # it keeps asking
    assert not watched.errors, watched.errors
    assert not watched.outside, watched.outside


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """This module's Chromium (it replaces conftest's: one Playwright per process) also resolves LAN_NAME to
    127.0.0.1, so a page can be opened as the projector opens it: by a name that is not loopback (the
    attendee link then names it), from a client that is (no HOST_CODE needed)."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, _chromium

    executable = _chromium()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(executable),
                                      args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1"])
        yield chromium
        chromium.close()


READ_QR = """async (box) => {
  const svg = box.querySelector("svg").cloneNode(true);
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const img = new Image();
  img.src = "data:image/svg+xml;base64," + btoa(new XMLSerializer().serializeToString(svg));
  await img.decode();
  const size = 400, canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, size, size);
  ctx.drawImage(img, 0, 0, size, size);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const gray = new Array(size * size);
  for (let i = 0; i < gray.length; i++) gray[i] = rgba[4 * i];
  return {size, gray, shown: box.getBoundingClientRect().width};
}"""


def test_host_page_qr_code_reads_back_as_the_link(browser: Any, server_url: str, artifacts: Path) -> None:
    port = server_url.rsplit(":", 1)[1]
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"http://{LAN_NAME}:{port}/host")
        link = f"http://{LAN_NAME}:{port}/"
        assert page.get_by_test_id("attendee-url").first.inner_text() == link
        qr = page.get_by_test_id("attendee-qr").first
        drawn = qr.evaluate(READ_QR)
        image = np.array(drawn["gray"], dtype=np.uint8).reshape(drawn["size"], drawn["size"])
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [link]
        assert drawn["shown"] >= 400, drawn["shown"]  # large enough to scan from the back of a room
        page.screenshot(path=str(artifacts / "host-qr.png"))
        assert not errors, errors
    finally:
        context.close()
