"""Server settings from the environment (app/server/settings.py): ROOM_MBPS, the room's network budget, and what a
bad value gets at start: one line naming the variable and what it takes, exit status 2."""

from __future__ import annotations

import contextlib
import io

import pytest

from app import __main__ as cli
from app.server.flow import FlowControl, Pacer
from app.server.settings import Settings


def test_room_mbps_is_off_unless_set_and_takes_a_decimal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROOM_MBPS", raising=False)
    assert Settings.from_env().room_mbps == 0.0
    monkeypatch.setenv("ROOM_MBPS", " 42.5 ")
    assert Settings.from_env().room_mbps == 42.5


@pytest.mark.parametrize(("value", "words"), [
    ("-5", "ROOM_MBPS must be between 0 and 100000, got -5"),
    ("1e9", "ROOM_MBPS must be between 0 and 100000, got 1e+09"),
    ("fast", "ROOM_MBPS must be a number, got 'fast'"),
    ("nan", "ROOM_MBPS must be a number, got 'nan'"),
    ("inf", "ROOM_MBPS must be a number, got 'inf'"),
])
def test_a_bad_room_mbps_stops_the_server_with_one_clear_line(monkeypatch: pytest.MonkeyPatch, value: str,
                                                              words: str) -> None:
    monkeypatch.setenv("ROOM_MBPS", value)
    with pytest.raises(ValueError, match="ROOM_MBPS"):
        Settings.from_env()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["serve"]) == 2
    line = err.getvalue().strip()
    assert line == f"python -m app: error: {words}", line


def test_the_budget_is_shared_evenly_and_each_bucket_holds_its_share() -> None:
    """20 Mbit/s for 10 open sessions, 4 of them on this worker (3 playing): this worker has 8 Mbit/s, each of its
    playing sessions a third of it; a session spends its bucket and waits until it refills."""
    flows = [FlowControl() for _ in range(4)]
    for i, f in enumerate(flows[:3]):
        f.sent(1, 10.0 + i * 0.1, 1_000)
        f.ack(1, 10.05 + i * 0.1)
    each = Pacer(20.0).share(flows, open_sessions=10, now=11.0)
    assert each == pytest.approx(20e6 / 8 * 4 / 10 / 3)
    assert all(f.rate == each for f in flows)
    f = flows[0]
    assert f.may_send(11.0)
    f.sent(2, 11.0, int(each))  # a second's worth in one frame
    f.ack(2, 11.01)
    assert not f.may_send(11.5)  # half a second later the bucket is still below zero
    assert f.may_send(12.01)
