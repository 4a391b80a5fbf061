"""Flow control over a real WebSocket (docs/protocol.md, "Flow control"): frames wait for the page's
acknowledgements, training does not, a control shows in the first frame after an acknowledgement, bad
acknowledgements are answered in words and change nothing. The app runs in-process (TestClient), so a test
can look at the server's side of its connection."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.server import flow
from tests.conftest import WsSession
from tests.support.server import wait_for

Connect = Callable[..., Any]
WAIT_S = 30.0


def server_side(client: TestClient) -> Any:
    """The server's Connection of the test's only session."""
    (conn,) = client.app.state.connections  # type: ignore[attr-defined]
    return conn


def wait_until(what: str, check: Callable[[], bool]) -> None:
    """Poll `check` until it holds (AssertionError naming `what` after WAIT_S, a give-up, not a measurement)."""
    wait_for(check, WAIT_S, what, 0.01)


def frames(s: WsSession, count: int) -> list[dict[str, Any]]:
    """The next `count` frames (texts on the way are kept in s.texts)."""
    out = []
    while len(out) < count:
        if isinstance(s.recv(), bytes):
            assert s.frame is not None
            out.append(s.frame)
    return out


@pytest.fixture
def slow_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    """No floor-rate frame during a test: a page that does not acknowledge gets nothing beyond the window."""
    monkeypatch.setattr(flow, "FLOOR_PERIOD", 3_600.0)


def test_frames_wait_for_acks_training_does_not_and_a_control_shows_in_the_next_frame(
        client: TestClient, connect: Connect, slow_floor: None) -> None:
    with connect(ack=False) as s:
        s.send({"type": "play"})
        first = frames(s, flow.WINDOW)
        assert [f["seq"] for f in first] == list(range(1, flow.WINDOW + 1))
        conn = server_side(client)
        at_window = conn.live.session.step_count
        wait_until("training goes on while the page has not acknowledged",
                   lambda: conn.live.session.step_count >= at_window + 60)
        assert conn.flow.last_sent == flow.WINDOW  # and no frame was sent meanwhile
        s.send({"type": "set", "eps": 0.33})
        wait_until("the control is applied", lambda: conn.live.session.smoothed_eps == 0.33)
        trained = conn.live.session.step_count
        s.send({"type": "ack", "frame": flow.WINDOW})  # cumulative: both frames
        (after,) = frames(s, 1)
        assert after["seq"] == flow.WINDOW + 1
        assert after["eps"] == 0.33  # the control's effect, in the first frame that leaves
        assert after["step"] >= trained  # the newest state, not a frame built while the window was shut
        assert conn.flow.rtts  # the round trip of the acknowledged frame


def test_a_page_that_acknowledges_gets_a_stream_and_one_that_does_not_gets_the_floor_rate(
        connect: Connect, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flow, "FLOOR_PERIOD", 0.05)
    with connect(ack=False) as s:
        s.send({"type": "play"})
        got = frames(s, flow.WINDOW + 3)  # beyond the window, without a single acknowledgement
        assert [f["seq"] for f in got] == list(range(1, flow.WINDOW + 4))
    with connect() as s:  # the page's behaviour: every frame acknowledged as it is read
        s.send({"type": "play"})
        got = frames(s, 20)
        assert [f["seq"] for f in got] == list(range(1, 21))
        assert got[-1]["step"] > got[0]["step"]


def test_training_keeps_its_speed_beside_a_session_whose_page_never_acknowledges(
        make_client: Callable[..., TestClient], open_ws: Connect, slow_floor: None) -> None:
    """Two sessions of one shape train as one bank: the one whose frames are not acknowledged is not held back."""
    client = make_client()
    with open_ws(client) as fast, open_ws(client, ack=False) as stalled:
        for s in (fast, stalled):
            s.send({"type": "reset", "config": {"seed": 5}})
            s.next_text("state")
        for s in (fast, stalled):
            s.send({"type": "play"})
        frames(fast, 40)  # the acknowledging page reads on
        conns = list(client.app.state.connections)  # type: ignore[attr-defined]
        steps = sorted(c.live.session.step_count for c in conns)
        assert steps[0] > 0 and steps[1] - steps[0] <= 3 * 3  # within a tick or so of each other
        assert min(c.flow.last_sent for c in conns) == flow.WINDOW  # the stalled one got only its window


@pytest.mark.parametrize(("ack", "words"), [
    ({"type": "ack", "frame": 99}, "frame 99, which has not been sent"),
    ({"type": "ack"}, 'an acknowledgement is {"type": "ack", "frame": N}'),
    ({"type": "ack", "frame": "1"}, "an acknowledgement is"),
    ({"type": "ack", "frame": -1}, "an acknowledgement is"),
    ({"type": "ack", "frame": True}, "an acknowledgement is"),
    ({"type": "ack", "frame": 1, "also": 2}, "an acknowledgement is"),
])
def test_a_bad_acknowledgement_is_answered_and_changes_nothing(connect: Connect, ack: dict[str, Any],
                                                               words: str) -> None:
    with connect() as s:
        s.step_to(3)
        s.send(ack)
        assert words in s.error()
        assert s.step_to(2)["step"] == 5  # the session goes on


def test_an_acknowledgement_repeated_is_refused_once_a_second_and_a_flood_does_no_harm(
        client: TestClient, connect: Connect) -> None:
    with connect(ack=False) as s:
        s.send({"type": "step", "n": 1})
        (frame,) = frames(s, 1)
        s.send({"type": "ack", "frame": frame["seq"]})
        s.send({"type": "ack", "frame": frame["seq"]})
        assert "acknowledged already" in s.error()
        for _ in range(300):  # a flood of bad acknowledgements: past 100 a second the rate limit drops them
            s.send({"type": "ack", "frame": 10_000})
        time.sleep(1.1)  # the rate limit's window passes; nothing lasting was done to the session
        s.send({"type": "ping"})
        s.next_text("pong")
        errors = [t for t in s.texts if t.get("type") == "error"]
        assert 1 <= len(errors) <= 4  # one a second at most (and the rate limit's, once), not one per message
        assert any(e.get("code") == "rate_limited" for e in errors)
        s.send({"type": "set", "eps": 0.2})
        assert s.next_text("state")["eps"] == 0.2
        assert server_side(client).flow.last_acked == frame["seq"]
