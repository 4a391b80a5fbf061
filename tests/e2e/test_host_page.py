"""Browser test of the room page (/host): a real server, a real Chromium. The page renders with no console
error, asks nothing of any other server, and follows the room: an attendee who opens the explorer and
presses play shows up as a session with frames and steps per second. Fixtures: tests/e2e/conftest.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


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
    assert page.get_by_test_id("room-sessions").inner_text() == "0"
    assert page.get_by_test_id("room-device").inner_text() == "cpu"
    # the test server listens on 127.0.0.1: no link for the room, and the page says why
    assert page.get_by_test_id("attendee-qr").count() == 0
    assert "127.0.0.1 only" in page.get_by_test_id("room-note").first.inner_text()
    assert not page.get_by_test_id("room-warning").is_visible()

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
    assert page.get_by_test_id("room-errors").inner_text() == "0"
    page.screenshot(path=str(artifacts / "host.png"), full_page=True)

    attendee.close()
    wait_text(page, "room-sessions", "t === '0'")
    wait_text(page, "room-fps", "t === '–'")
    assert len(room_calls) >= 3, room_calls  # it keeps asking
    assert not watched.errors, watched.errors
    assert not watched.outside, watched.outside
