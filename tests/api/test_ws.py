"""WS /ws (docs/protocol.md): hello, play/pause/step/set/reset/sweep, errors that keep the session, access."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app import __version__
from app.protocol.frames import VERSION
from app.protocol.messages import RunConfig

pytestmark = pytest.mark.timeout(120)

Connect = Callable[..., Any]


# ---- the round trip ------------------------------------------------------------------------------------
def test_hello_describes_the_session(connect: Connect) -> None:
    with connect() as s:
        hello = s.hello
        assert hello["type"] == "hello" and hello["step"] == 0 and hello["playing"] is False
        assert hello["mode"] == "twin" and hello["eps"] == 0.1 and hello["sweep_eps"] is None
        assert hello["config"] == RunConfig(device="cpu").as_dict()
        assert hello["device"] == "cpu" and hello["version"] == __version__
        first = s.next_frame()  # the initial state is shown at once, before any training
        assert first["step"] == 0 and first["v"] == VERSION
        assert set(first["runs"]) == {"baseline", "smoothed"}
        assert first["runs"]["smoothed"]["points"].shape == (300, 2)
        assert first["runs"]["baseline"]["templates"].shape == (3, 2)


def test_play_streams_frames_with_advancing_steps_and_pause_stops(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "play"})
        assert s.next_text("state")["playing"] is True
        steps = [s.next_frame(lambda f: f["step"] > 0)["step"]]
        for _ in range(3):
            steps.append(s.next_frame(lambda f, last=steps[-1]: f["step"] > last)["step"])
        assert steps == sorted(steps) and len(set(steps)) == 4
        s.send({"type": "pause"})
        paused = s.next_text("state")
        assert paused["playing"] is False
        # once paused, a step request moves it by exactly that many steps
        s.send({"type": "ping"})
        s.next_text("pong")
        frame = s.step_to(4)
        assert frame["step"] == paused["step"] + 4


def test_step_while_paused_advances_by_exactly_n(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "step", "n": 5})
        assert s.next_frame(lambda f: f["step"] > 0)["step"] == 5
        s.send({"type": "step", "n": 3})
        assert s.next_frame(lambda f: f["step"] != 5)["step"] == 8
        s.send({"type": "step", "n": 1})
        assert s.next_frame(lambda f: f["step"] != 8)["step"] == 9
        s.send({"type": "set", "speed": 2})  # a control that takes no step: nothing ran on its own
        assert s.next_text("state")["step"] == 9
        assert s.next_frame()["step"] == 9


def test_set_eps_is_confirmed_by_the_frames(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "play"})
        s.next_frame(lambda f: f["step"] > 0)
        s.send({"type": "set", "eps": 0.2, "lr": 0.02, "speed": 5, "fps": 20})
        state = s.next_text("state")
        assert (state["eps"], state["lr"], state["speed"], state["fps"]) == (0.2, 0.02, 5, 20)
        assert state["step"] > 0  # applied live: no reset
        frame = s.next_frame(lambda f: f["eps"] == 0.2)
        assert frame["runs"]["smoothed"]["eps"] == 0.2 and frame["runs"]["baseline"]["eps"] == 0.0
        assert frame["runs"]["smoothed"]["loss_floor"] == pytest.approx(0.485, abs=5e-4)  # H(q') at ε = 0.2
        assert frame["runs"]["smoothed"]["optimal_logit_gap"] == pytest.approx(2.565, abs=5e-4)
        later = s.next_frame(lambda f: f["step"] > frame["step"])
        assert later["eps"] == 0.2


def test_reset_with_a_new_config_starts_again(connect: Connect) -> None:
    with connect() as s:
        s.step_to(20)
        s.send({"type": "reset", "config": {"seed": 5, "similarity": 0.5, "eps": 0.3}})
        state = s.next_text("state")
        assert state["step"] == 0 and state["eps"] == 0.3
        assert state["config"]["seed"] == 5 and state["config"]["similarity"] == 0.5
        assert state["config"]["hidden"] == s.hello["config"]["hidden"]  # the others keep their value
        frame = s.next_frame()
        assert frame["step"] == 0 and frame["eps"] == 0.3
        s.send({"type": "reset", "config": {"dataset": "iris"}})
        state = s.next_text("state")
        assert state["config"]["dataset"] == "iris" and state["config"]["seed"] == 5
        assert s.next_frame()["step"] == 0


def test_same_config_same_frames(client: TestClient, open_ws: Callable[..., Any]) -> None:
    """A shared link reproduces its run: the same seed gives the same frames."""
    frames = []
    for _ in range(2):
        with open_ws(client) as s:
            s.send({"type": "reset", "config": {"seed": 9, "label_noise": 0.2}})
            s.next_text("state")
            frames.append(s.step_to(12))
    a, b = frames
    assert a["step"] == b["step"] == 12
    for name in ("baseline", "smoothed"):
        np.testing.assert_array_equal(a["runs"][name]["points"], b["runs"][name]["points"])
        assert a["runs"][name]["train_loss"] == b["runs"][name]["train_loss"]
    np.testing.assert_array_equal(a["arrays"]["flipped"], b["arrays"]["flipped"])


def test_ping_pong(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "ping"})
        assert s.next_text("pong") == {"type": "pong"}


# ---- malformed controls: an error naming the field and range, and the session carries on -------------------
BAD_CONTROLS: list[tuple[str, Any, list[str]]] = [
    ("not json", "{not json", ["JSON"]),
    ("json array", "[1, 2]", ["JSON object"]),
    ("json number", "3", ["JSON object"]),
    ("no type", {"eps": 0.2}, ["control type"]),
    ("unknown type", {"type": "jump"}, ["jump", "play"]),
    ("eps too big", {"type": "set", "eps": 2}, ["eps", r"\b1\b"]),
    ("eps negative", {"type": "set", "eps": -0.5}, ["eps", r"\b0\b"]),
    ("eps nan string", {"type": "set", "eps": "nan"}, ["eps", r"0 to 1|between 0 and 1"]),
    ("eps not a number", {"type": "set", "eps": "lots"}, ["eps", r"0 to 1|between 0 and 1"]),
    ("lr zero", {"type": "set", "lr": 0}, ["lr", r"greater than 0|more than 0"]),
    ("lr huge", {"type": "set", "lr": 100}, ["lr", r"\b10\b"]),
    ("speed zero", {"type": "set", "speed": 0}, ["speed", r"\b1\b"]),
    ("fps too high", {"type": "set", "fps": 1000}, ["fps", r"\b60\b"]),
    ("unknown field", {"type": "set", "colour": "red"}, ["colour", "not a setting"]),
    ("step zero", {"type": "step", "n": 0}, ["n", r"\b1\b"]),
    ("step too many", {"type": "step", "n": 10**6}, ["n", r"1,?000"]),
    ("reset bad dataset", {"type": "reset", "config": {"dataset": "mnist"}}, ["dataset", "mnist", "blobs"]),
    ("reset bad points", {"type": "reset", "config": {"points": 5}}, ["points", r"\b30\b"]),
    ("reset unknown field", {"type": "reset", "config": {"layers": 9}}, ["layers", "not a setting"]),
    ("reset config not an object", {"type": "reset", "config": [1]}, ["config"]),
    ("sweep eps out of range", {"type": "sweep", "eps": [0.1, 3]}, ["eps", r"\b1\b"]),
    ("sweep no eps", {"type": "sweep", "eps": []}, ["eps"]),
    ("sweep too many", {"type": "sweep", "eps": [0.01] * 42}, ["eps", r"\b41\b"]),
    ("binary", b"\x00\x01\x02", ["binary"]),
    ("oversized", "x" * (64 * 1024 + 1), ["too large", "64 KB"]),
    ("oversized json", '{"type": "set", "eps": 0.2, "pad": "' + "y" * 70_000 + '"}', ["too large"]),
]


@pytest.mark.parametrize(("payload", "patterns"), [(p, n) for _, p, n in BAD_CONTROLS],
                         ids=[name for name, _, _ in BAD_CONTROLS])
def test_malformed_control_gets_a_clear_error_and_changes_nothing(
    connect: Connect, payload: Any, patterns: list[str]
) -> None:
    with connect() as s:
        s.step_to(2)
        s.send(payload)
        message = s.error()
        for pattern in patterns:
            assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
        assert len(message) < 400 and "Traceback" not in message
        # the session still answers, with its previous settings
        frame = s.step_to(1)
        assert frame["step"] == 3 and frame["eps"] == 0.1
        state = [t for t in s.texts if t["type"] == "state"][-1]
        assert state["config"] == s.hello["config"] and state["eps"] == 0.1 and state["mode"] == "twin"
        assert state["speed"] == s.hello["speed"] and state["lr"] == s.hello["lr"]


def test_a_bad_field_among_good_ones_applies_none_of_them(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "set", "eps": 0.3, "lr": -1})
        assert "lr" in s.error()
        s.send({"type": "ping"})
        s.next_text("pong")
        s.send({"type": "step", "n": 1})
        assert s.next_text("state")["eps"] == 0.1


# ---- divergence and sweeps -----------------------------------------------------------------------------
def test_divergence_is_reported_and_a_lower_lr_recovers(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "reset", "config": {"optimizer": "sgd", "lr": 10, "weight_decay": 1}})
        s.next_text("state")
        s.send({"type": "play"})
        message = s.error()
        assert re.fullmatch(
            r"training diverged at step \d+ \(learning rate too high\?\); reset or lower it", message
        )
        state = s.next_text("state")
        assert state["diverged"] == message and state["playing"] is False
        s.send({"type": "play"})
        assert s.error() == message  # cannot play on until something changes
        assert s.next_text("state")["playing"] is False
        s.send({"type": "set", "lr": 0.01})
        state = s.next_text("state")
        assert state["diverged"] is None and state["lr"] == 0.01
        frame = s.step_to(2)
        assert frame["diverged"] is None
        for run in frame["runs"].values():
            assert run["train_loss"] is not None and np.isfinite(run["points"]).all()


def test_sweep_over_the_socket(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "sweep", "eps": [0.0, 0.1, 0.2], "config": {"seed": 2}})
        state = s.next_text("state")
        assert state["mode"] == "sweep" and state["sweep_eps"] == [0.0, 0.1, 0.2] and state["step"] == 0
        assert state["config"]["seed"] == 2
        frame = s.step_to(3)
        assert frame["mode"] == "sweep" and frame["step"] == 3
        assert list(frame["runs"]) == ["eps=0", "eps=0.1", "eps=0.2"]
        assert [r["eps"] for r in frame["runs"].values()] == [0.0, 0.1, 0.2]
        s.send({"type": "set", "eps": 0.3})
        assert "sweep" in s.error()
        assert s.next_text("state")["sweep_eps"] == [0.0, 0.1, 0.2]  # unchanged
        s.send({"type": "reset", "config": {}})  # back to the twin
        assert s.next_text("state")["mode"] == "twin"


# ---- who may connect ------------------------------------------------------------------------------------
def closed_with(client: TestClient, url: str = "/ws", **kwargs: Any) -> WebSocketDisconnect:
    with client.websocket_connect(url, **kwargs) as ws, pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    return info.value


def test_foreign_origin_is_refused_with_1008(client: TestClient, open_ws: Callable[..., Any]) -> None:
    refused = closed_with(client, headers={"origin": "http://evil.example"})
    assert refused.code == 1008 and "origin" in refused.reason
    with open_ws(client, headers={"origin": "http://testserver"}) as s:  # same origin: welcome
        assert s.hello["type"] == "hello"
    assert client.get("/healthz").json()["sessions"] == 0


def test_session_cap_turns_the_next_visitor_away_politely(
    make_client: Callable[..., TestClient], open_ws: Callable[..., Any]
) -> None:
    client = make_client(max_sessions=1)
    with open_ws(client) as s:
        full = closed_with(client)
        assert full.code == 1013
        assert full.reason == "The explorer is full (1/1). Try again in a minute."
        assert client.get("/healthz").json()["sessions"] == 1
        s.send({"type": "ping"})
        s.next_text("pong")  # the first visitor is unaffected
    with open_ws(client) as s:  # a seat is free again
        assert s.hello["type"] == "hello"


def test_access_code_guards_the_socket(make_client: Callable[..., TestClient], open_ws: Callable[..., Any]) -> None:
    client = make_client(access_code="s3cret")
    refused = closed_with(client)
    assert refused.code == 1008 and "access code" in refused.reason
    assert closed_with(client, "/ws?token=wrong").code == 1008
    with open_ws(client, "/ws?token=s3cret") as s:
        assert s.hello["type"] == "hello"
    client.get("/?token=s3cret", follow_redirects=False)  # the page's cookie works too
    with open_ws(client) as s:
        assert s.hello["type"] == "hello"
