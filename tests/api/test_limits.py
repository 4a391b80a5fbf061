"""The live protocol's limits (docs/architecture.md, "Every limit once"): every out-of-range control is answered
with an error naming the field and its range and leaves the session as it was; the CLI applies the same
limits; a diverging run pauses, says so in plain words and recovers. Against a real server in a thread
(tests/support/inprocess.py), every message strictly checked (tests/support/wire.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from typing import Any

import pytest

import app.__main__ as cli
from tests.support import wire
from tests.support.inprocess import ThreadServer

DIVERGED = re.compile(r"^training diverged at step (\d+) \(learning rate too high\?\); reset or lower it$")


# ---- 1. validation with limits ---------------------------------------------------------------------------
LIMITS = [  # (message, field, words the error must contain)
    ({"type": "set", "eps": -0.01}, "eps", ["greater than or equal to 0"]),
    ({"type": "set", "eps": 1.01}, "eps", ["less than or equal to 1"]),
    ({"type": "set", "eps": "NaN"}, "eps", ["finite", "0 to 1"]),
    ({"type": "set", "lr": 0}, "lr", ["greater than 0"]),
    ({"type": "set", "lr": 10.5}, "lr", ["less than or equal to 10"]),
    ({"type": "set", "lr": "Infinity"}, "lr", ["finite", "more than 0, at most 10"]),
    ({"type": "set", "speed": 1001}, "speed", ["less than or equal to 1000"]),
    ({"type": "set", "speed": 0}, "speed", ["greater than or equal to 1"]),
    ({"type": "set", "fps": 61}, "fps", ["less than or equal to 60"]),
    ({"type": "set", "fps": "fast"}, "fps", ["1 to 60"]),
    ({"type": "step", "n": 1001}, "n", ["less than or equal to 1000"]),
    ({"type": "step", "n": 1.5}, "n", ["1 to 1,000"]),
    ({"type": "reset", "config": {"points": 20_001}}, "points", ["less than or equal to 20000"]),
    ({"type": "reset", "config": {"hidden": 513}}, "hidden", ["less than or equal to 512"]),
    ({"type": "reset", "config": {"penultimate": 257}}, "penultimate", ["less than or equal to 256"]),
    ({"type": "reset", "config": {"eps": 2}}, "eps", ["less than or equal to 1"]),
    ({"type": "reset", "config": {"lr": -1}}, "lr", ["greater than 0"]),
    ({"type": "reset", "config": {"dataset": "mnist"}}, "dataset", ["blobs, digits"]),
    ({"type": "reset", "config": {"colour": "red"}}, "colour", ["not a setting"]),
    ({"type": "sweep", "eps": [i / 50 for i in range(42)]}, "eps", ["at most 41"]),
    ({"type": "sweep", "eps": [0.1, 1.5]}, "eps.1", ["less than or equal to 1"]),
    ({"type": "sweep", "eps": [0.1] * 41, "config": {"points": 20_000, "hidden": 512, "penultimate": 256}},
     "run too large", ["41 × 20000 × (512 + 256)", "at most 40,000,000"]),
]
LIVE_KEYS = ("playing", "step", "speed", "fps", "lr", "eps", "sweep_eps", "mode", "config", "diverged")


@pytest.mark.parametrize(("message", "field", "words"), LIMITS, ids=[f"{m['type']}-{f}-{i}" for i, (m, f, _) in
                                                                      enumerate(LIMITS)])
def test_every_limit_answers_an_error_naming_field_and_range_and_keeps_state(
        server: ThreadServer, message: dict[str, Any], field: str, words: list[str]) -> None:
    async def go() -> None:
        async with wire.session(server.ws) as ws:
            await ws.send(json.dumps({"type": "set", "eps": 0.25, "lr": 0.02, "speed": 5, "fps": 20}))
            before = await wire.until(ws, wire.is_type("state"), 20)
            await ws.send(json.dumps(message))
            err = await wire.until(ws, wire.is_type("error"), 20)
            assert isinstance(err, dict) and field in err["message"], err
            for w in words:
                assert w in err["message"], err
            await ws.send('{"type": "set"}')  # an empty change: the server answers with its state
            after = await wire.until(ws, wire.is_type("state"), 20)
            assert isinstance(before, dict) and isinstance(after, dict)
            assert {k: after[k] for k in LIVE_KEYS} == {k: before[k] for k in LIVE_KEYS}
            await wire.assert_alive(ws)

    asyncio.run(go())


def test_message_over_64_kb_is_refused_by_name(server: ThreadServer) -> None:
    async def go() -> None:
        async with wire.session(server.ws) as ws:
            await ws.send(json.dumps({"type": "set", "eps": 0.3, "note": "x" * 65_536}))
            err = await wire.until(ws, wire.is_type("error"), 20)
            assert isinstance(err, dict) and err["message"] == "message too large: at most 64 KB"
            await wire.assert_alive(ws)

    asyncio.run(go())


def test_the_largest_twin_the_limits_allow_is_accepted(server: ThreadServer) -> None:
    big = {"points": 20_000, "hidden": 512, "penultimate": 256}

    async def go() -> None:
        async with wire.session(server.ws) as ws:
            await ws.send(json.dumps({"type": "reset", "config": big}))
            state = await wire.until(ws, wire.is_type("state"), 60)
            assert isinstance(state, dict) and {k: state["config"][k] for k in big} == big

    asyncio.run(go())


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "--lr", "0"], ["lr", "greater than 0"]),
    (["run", "--lr", "11"], ["lr", "less than or equal to 10"]),
    (["run", "--lr", "nan"], ["lr", "finite"]),
    (["run", "--eps", "1.5"], ["eps", "less than or equal to 1"]),
    (["run", "--points", "20001"], ["points", "less than or equal to 20000"]),
    (["run", "--hidden", "513"], ["hidden", "less than or equal to 512"]),
    (["run", "--penultimate", "257"], ["penultimate", "less than or equal to 256"]),
    (["sweep", "--eps", ",".join(f"{i / 100:g}" for i in range(42))], ["at most 41"]),
    (["sweep", "--eps", "0,1.5"], ["between 0 and 1"]),
    (["serve", "--port", "0"], ["--port", "between 1 and 65535"]),
    (["serve", "--workers", "-1"], ["--workers", "between 0 and 256"]),
])
def test_cli_applies_the_same_limits(argv: list[str], words: list[str]) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main([*argv, "--steps", "1"] if argv[0] != "serve" else argv) == 2
    line = err.getvalue().strip()
    assert line.startswith("python -m app: error: ") and "\n" not in line, line
    for w in words:
        assert w in line, line


# ---- 3. divergence ----------------------------------------------------------------------------------
async def diverge(ws: Any, *, trigger: dict[str, Any]) -> tuple[int, list[bytes]]:
    """Play, send `trigger`, read until the divergence error; every frame is strictly parsed on the way."""
    frames: list[bytes] = []
    await ws.send('{"type": "play"}')
    await ws.send(json.dumps(trigger))
    while True:
        msg = await wire.until(ws, lambda m: wire.is_frame(m) or wire.is_type("error")(m), 30)
        if isinstance(msg, bytes):
            frames.append(msg)
        else:
            m = DIVERGED.match(msg["message"])
            assert m, msg
            return int(m.group(1)), frames


async def collect_until_state(ws: Any, pred: Any, timeout: float = 20) -> dict[str, Any]:
    msg = await wire.until(ws, lambda m: wire.is_type("state")(m) and pred(m), timeout)
    assert isinstance(msg, dict)
    return msg


def finite_metrics(frame: bytes) -> None:
    """The metrics a frame carries (when it measured them) are numbers or null: the strict parse refused NaN."""
    header = wire.frame_header(frame)
    for r in header["runs"]:
        for k, v in r.get("metrics", {}).items():
            assert v is None or isinstance(v, int | float), (k, v)


def test_divergence_pauses_says_so_and_lowering_lr_or_reset_continues(server: ThreadServer) -> None:
    async def go() -> None:
        async with wire.session(server.ws) as ws:
            # sgd with weight decay 1 is stable at lr 0.01 and blows up within a few steps at lr 10
            await ws.send(json.dumps({"type": "reset", "config": {"optimizer": "sgd", "lr": 0.01, "weight_decay": 1}}))
            await collect_until_state(ws, lambda s: s["config"]["optimizer"] == "sgd")
            step, frames = await diverge(ws, trigger={"type": "set", "lr": 10})  # set lr to 10 during play
            assert step >= 1
            state = await collect_until_state(ws, lambda s: s["diverged"] is not None)
            assert state["playing"] is False and DIVERGED.match(state["diverged"])
            # play is refused while diverged, with the same words
            await ws.send('{"type": "play"}')
            err = await wire.until(ws, wire.is_type("error"), 10)
            assert isinstance(err, dict) and DIVERGED.match(err["message"])
            # a frame after the divergence says so in its header, with no NaN anywhere (strict parse)
            await ws.send('{"type": "set", "fps": 30}')
            frame = await wire.until(ws, lambda m: isinstance(m, bytes), 20)
            assert isinstance(frame, bytes)
            header = wire.frame_header(frame)
            assert header["diverged"] and DIVERGED.match(header["diverged"])
            finite_metrics(frame)
            # lowering the learning rate clears it and training goes on
            await ws.send('{"type": "set", "lr": 0.01}')
            state = await collect_until_state(ws, lambda s: s["lr"] == 0.01)
            assert state["diverged"] is None
            await ws.send('{"type": "play"}')
            start = state["step"]
            while True:
                frame = await wire.until(ws, lambda m: isinstance(m, bytes), 20)
                assert isinstance(frame, bytes)
                header = wire.frame_header(frame)
                assert header["diverged"] is None
                finite_metrics(frame)
                if header["step"] > start + 20:
                    break
            # diverge again straight from a reset, then reset to something sane: it goes on
            await ws.send('{"type": "pause"}')
            _, frames2 = await diverge(ws, trigger={"type": "reset", "config": {"lr": 10}})
            for f in frames + frames2:
                finite_metrics(f)
            await ws.send(json.dumps({"type": "reset", "config": {"optimizer": "adam", "lr": 0.01, "weight_decay": 0}}))
            state = await collect_until_state(ws, lambda s: s["config"]["optimizer"] == "adam")
            assert state["diverged"] is None and state["step"] == 0
            await wire.assert_alive(ws)

    asyncio.run(go())
