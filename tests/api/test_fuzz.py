"""Property-based fuzzing (hypothesis) of the control protocol, the REST helpers and the CLI (issue 7, item 2).

Random and malformed input (wrong types, NaN/inf as numbers and as strings, huge numbers, deep
nesting, binary garbage, oversized messages, invalid UTF-8) never crashes the server, never hangs a
session (after each example it still answers a ping with a pong and a step with a frame), never
yields a 500, and never puts NaN into JSON. The CLI returns 0 or 2 and never raises.

Deterministic and database-free (CI): a fixed number of examples, derandomized.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
import websockets
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import app.__main__ as cli
from app.engine.data import DATASETS
from app.protocol.messages import MAX_MESSAGE_BYTES, RunConfig
from app.server.settings import Settings
from tests.support import wire
from tests.support.inprocess import WS_MAX_SIZE, ThreadServer
from tests.support.server import wait_until

SENT: Counter[str] = Counter()  # what the protocol fuzz put on the wire, by kind (printed with -s)

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---- strategies -------------------------------------------------------------------------------------
NASTY_STRINGS = ["NaN", "nan", "-NaN", "Infinity", "-Infinity", "inf", "-inf", "1e999", "-1e999", "1e-999",
                 "0x10", "", " ", "null", "true", "１", "\x00", "\ud7ff", "é" * 40, "0.1.2", "1_000", "٣"]
HUGE_INTS = [2**31, 2**53 + 1, 2**63, 2**64, -(2**63), 10**30, -(10**30), 10**400]

hostile = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)

# Valid values stay small, so that a valid random run is cheap to build and step.
CHEAP: dict[str, st.SearchStrategy[Any]] = {
    "dataset": st.sampled_from(DATASETS),
    "points": st.integers(30, 800),
    "similarity": st.floats(0, 1),
    "label_noise": st.floats(0, 0.5),
    "ordered": st.booleans(),
    "seed": st.integers(0, 2**31 - 1),
    "hidden": st.integers(1, 48),
    "penultimate": st.integers(2, 16),
    "eps": st.floats(0, 1),
    "lr": st.floats(1e-6, 10),
    "optimizer": st.sampled_from(["adam", "sgd"]),
    "weight_decay": st.floats(0, 1),
    "batch_size": st.integers(1, 1000),
    "device": st.sampled_from(["auto", "cpu", "cuda"]),
    "display_points": st.integers(3, 600),
}
assert set(CHEAP) == {f.name for f in dataclasses.fields(RunConfig)}


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, hostile)


run_config = st.fixed_dictionaries({}, optional={**{k: either(v) for k, v in CHEAP.items()},
                                                 "unknown": hostile, "": hostile})
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=25,
)
controls = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["play", "pause", "ping"])}, optional={"extra": hostile}),
    st.fixed_dictionaries({"type": st.just("step")}, optional={"n": either(st.integers(1, 200))}),
    st.fixed_dictionaries({"type": st.just("set")}, optional={
        "eps": either(CHEAP["eps"]), "lr": either(CHEAP["lr"]),
        "speed": either(st.integers(1, 1000)), "fps": either(st.integers(1, 60)), "junk": hostile}),
    st.fixed_dictionaries({"type": st.just("reset")}, optional={"config": st.one_of(run_config, hostile)}),
    st.fixed_dictionaries({"type": st.just("sweep")}, optional={
        "eps": st.one_of(st.lists(either(CHEAP["eps"]), max_size=6), st.lists(CHEAP["eps"], min_size=42, max_size=44),
                         hostile),
        "config": st.one_of(run_config, hostile)}),
    st.fixed_dictionaries({"type": hostile}, optional={"n": hostile, "eps": hostile}),
    json_values,
)


@st.composite
def on_the_wire(draw: st.DrawFn) -> tuple[str, str | bytes]:
    """One message as it goes on the wire: (kind, payload). Text is str; binary garbage is bytes."""
    kind = draw(st.sampled_from(["json", "json", "json", "json", "text", "truncated", "nested", "bignum",
                                 "binary", "oversized", "padded"]))
    if kind == "json":  # json.dumps writes NaN / Infinity literals for non-finite floats
        return kind, json.dumps(draw(controls))
    if kind == "text":
        return kind, draw(st.text(max_size=200))
    if kind == "truncated":
        text = json.dumps(draw(controls))
        return kind, text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    if kind == "nested":
        depth = draw(st.sampled_from([50, 999, 1_001, 5_000, 30_000]))
        inner = "[" * depth + "]" * depth
        return kind, draw(st.sampled_from([inner, '{"type": "reset", "config": {"points": ' + inner + "}}",
                                           '{"type": "set", "eps": ' + inner + "}"]))
    if kind == "bignum":
        digits = draw(st.sampled_from([20, 400, 4_299, 5_000, 40_000]))
        return kind, '{"type": "step", "n": 1' + "0" * digits + "}"
    if kind == "binary":
        return kind, draw(st.binary(max_size=300))
    if kind == "oversized":  # over the 64 KB limit, under uvicorn's frame limit: answered with an error
        return kind, '{"type": "set", "eps": 0.1, "pad": "' + "x" * (MAX_MESSAGE_BYTES + 10) + '"}'
    return kind, json.dumps(draw(controls)) + " " * draw(st.integers(0, 2_000))  # padded


# Messages that end the connection at the protocol level, before the app sees them (a new one works).
TRANSPORT_ENDING = {
    "too big for a frame": (1009, lambda: "x" * (WS_MAX_SIZE + 1)),
    "invalid UTF-8 text": (1007, lambda: b"\xff\xfe{\xc3("),
}


@pytest.fixture(scope="module")
def server() -> Any:
    with ThreadServer(Settings(device="cpu", max_sessions=1_000)) as srv:
        yield srv
        assert wait_until(srv.idle, 10), f"sessions left open after fuzzing: {srv.healthz()}"
        assert not srv.log.records, srv.log.messages()  # no bug caught and logged by a last-resort handler
        if SENT:
            print(f"\nprotocol fuzz: {sum(SENT.values())} messages on the wire: {dict(SENT)}")


# ---- the control protocol over a real socket -----------------------------------------------------------
@settings(FUZZ, max_examples=100)
@given(messages=st.lists(on_the_wire(), min_size=1, max_size=6))
def test_random_controls_never_break_a_session(server: ThreadServer,
                                               messages: list[tuple[str, str | bytes]]) -> None:
    async def go() -> None:
        ws = await wire.connect(server.ws)
        try:
            for kind, payload in messages:
                event(kind)
                SENT[kind] += 1
                await ws.send(payload)
            await wire.assert_alive(ws)
        finally:
            await ws.close()

    asyncio.run(go())


@pytest.mark.parametrize("case", sorted(TRANSPORT_ENDING))
def test_transport_level_garbage_closes_only_that_connection(server: ThreadServer, case: str) -> None:
    code, payload = TRANSPORT_ENDING[case]

    async def go() -> None:
        async with wire.session(server.ws) as bystander, wire.session(server.ws) as ws:
            data = payload()
            await ws.send(data, text=True) if isinstance(data, bytes) else await ws.send(data)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await wire.until(ws, lambda m: False, 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code
            await wire.assert_alive(bystander)  # the others never notice
            async with wire.session(server.ws) as fresh:
                await wire.assert_alive(fresh)

    asyncio.run(go())
    assert wait_until(server.idle, 5), server.healthz()


def test_rate_limit_answers_and_recovers(server: ThreadServer) -> None:
    """A flood of 300 messages: the excess is answered with the rate-limit error; a second later all is well."""

    async def go() -> None:
        async with wire.session(server.ws) as ws:
            for _ in range(300):
                await ws.send('{"type": "set", "eps": 0.2}')
            errors = []
            with contextlib.suppress(TimeoutError):  # read until the answers stop
                while True:
                    msg = await wire.receive(ws, 2.0)
                    if isinstance(msg, dict) and msg["type"] == "error":
                        errors.append(msg["message"])
            assert errors, "300 messages in a burst were all accepted"
            print(f"\nflood: {len(errors)} of 300 answered with the rate-limit error")
            assert set(errors) == {"too many control messages: at most 100 per second"}
            await asyncio.sleep(1.1)
            await wire.assert_alive(ws)

    asyncio.run(go())


# ---- REST helpers (the `http` fixture: tests/api/conftest.py) -----------------------------------------
PATHS = ["/", "/healthz", "/api/calculate", "/api/config", "/api/scenarios", "/static/js/lib/socket.js",
         "/static/../app/server/app.py", "/static/%2e%2e/pyproject.toml", "/ws", "/nope", "/api/calculate/x", "//"]


@settings(FUZZ, max_examples=80)
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
       path=st.one_of(st.sampled_from(PATHS), st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/?=&%"))),
       body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
def test_http_never_500_nor_traceback(http: TestClient, method: str, path: str, body: bytes) -> None:
    r = http.request(method, path, content=body, headers={"content-type": "application/json"})
    event(f"status {r.status_code}")
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text and 'File "' not in r.text


calc_fields = {
    "probs": st.one_of(st.lists(st.floats(1e-300, 1), min_size=2, max_size=6).map(lambda v: [x / sum(v) for x in v]),
                       st.lists(st.one_of(st.floats(0, 1), hostile), max_size=6),
                       st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=120), hostile),
    "label": either(st.integers(0, 5)),
    "eps": either(CHEAP["eps"]),
}
calc_bodies = st.one_of(
    st.fixed_dictionaries({"probs": calc_fields["probs"].filter(lambda p: isinstance(p, list) and len(p) >= 2),
                           "label": st.integers(0, 1), "eps": CHEAP["eps"]}),
    st.fixed_dictionaries(calc_fields), st.fixed_dictionaries({}, optional=calc_fields))


@settings(FUZZ, max_examples=80)
@given(body=calc_bodies)
def test_calculator_answers_200_or_a_clear_422(http: TestClient, body: dict[str, Any]) -> None:
    r = http.post("/api/calculate", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code in (200, 422), (r.status_code, r.text[:300])
    event(f"status {r.status_code}")
    wire.strict_json(r.text)  # no NaN / Infinity in the answer


# ---- the CLI -----------------------------------------------------------------------------------------
def number_words() -> st.SearchStrategy[str]:
    return st.one_of(st.integers(-3, 40).map(str), st.floats(-1, 2).map(repr),
                     st.sampled_from(["nan", "inf", "-inf", "1e999", "0x10", "", "abc", "1.5", "-1", "20001", "513",
                                      "257", "61", "1e-300", "10.5", "0", "1e308"]),
                     st.text(max_size=6))


def eps_specs() -> st.SearchStrategy[str]:
    bound = st.one_of(st.floats(-1, 2).map(lambda v: f"{v:.3g}"), st.sampled_from(["inf", "-inf", "nan", "1e308"]))
    step = st.one_of(st.floats(0.01, 1).map(lambda v: f"{v:.3g}"),
                     st.sampled_from(["0", "-0.1", "x", "nan", "inf", "1e-300", "5e-324"]))
    return st.one_of(
        st.builds(lambda a, b, c: f"{a}:{b}:{c}", bound, bound, step),
        st.lists(number_words(), max_size=5).map(",".join),
        st.text(max_size=10).filter(lambda t: ":" not in t),
    )


RUN_FLAGS = ["--dataset", "--seed", "--lr", "--optimizer", "--weight-decay", "--batch-size", "--hidden",
             "--penultimate", "--points", "--device", "--similarity", "--label-noise", "--eps", "--steps"]
SWITCHES = ["--ordered", "--json", "--quiet", "--bogus", "-x", "--"]


@st.composite
def argv(draw: st.DrawFn, tmp: Path) -> list[str]:
    command = draw(st.sampled_from(["run", "sweep", "serve", "nonsense", ""]))
    out = [command] if command else []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["flag", "flag", "switch", "word", "file", "serve"]))
        if kind == "flag":
            flag = draw(st.sampled_from(RUN_FLAGS))
            value = draw(eps_specs() if flag == "--eps" and command == "sweep" else
                         st.one_of(number_words(), st.sampled_from([*DATASETS, "adam", "sgd", "cpu", "cuda", "auto"])))
            out += [flag, value]
        elif kind == "switch":
            out.append(draw(st.sampled_from(SWITCHES)))
        elif kind == "file":
            out += [draw(st.sampled_from(["--out-csv", "--html", "--csv"])),
                    str(tmp / draw(st.sampled_from(["out.csv", "out.html", "missing/dir/out.csv", ""])))]
        elif kind == "serve":
            out += [draw(st.sampled_from(["--port", "--workers", "--host", "--device"])), draw(number_words())]
        else:
            out.append(draw(st.text(max_size=8)))
    return out


@pytest.fixture(scope="module")
def cli_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


real_train = cli.train


def short_train(config: Any, steps: int, sweep_eps: Any, quiet: bool, table: Any = None) -> dict[str, Any]:
    """The real training path, held to a few steps (negative --steps still reach its check)."""
    return real_train(config, min(steps, 3), sweep_eps, True, table)


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_cli_returns_0_or_2_and_never_raises(cli_tmp: Path, data: st.DataObject) -> None:
    args = data.draw(argv(cli_tmp))
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ), mock.patch.object(cli, "train", short_train), \
            mock.patch("app.server.supervisor._probe"), mock.patch("app.server.supervisor._run_worker") as run_worker, \
            mock.patch("app.server.supervisor._supervise") as supervise, mock.patch("uvicorn.run") as uvicorn_run, \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(args)
        except SystemExit as exit_:  # only argparse's own --help may exit, with status 0
            assert exit_.code == 0 and "usage:" in out.getvalue(), (args, exit_.code)
            return
    assert status in (0, 2), (args, status, err.getvalue())
    event(f"{args[0] if args else ''} exit {status}")
    assert "Traceback" not in err.getvalue()
    if status == 2:
        lines = err.getvalue().strip().splitlines()
        assert lines and lines[-1].startswith("python -m app: error: "), (args, err.getvalue())
    elif args and args[0] == "serve":  # it would have served: one worker, supervised workers, or uvicorn's
        assert run_worker.called or supervise.called or uvicorn_run.called
    elif "--json" in args and "--" not in args:
        wire.strict_json(out.getvalue().strip().splitlines()[-1])


@pytest.mark.parametrize("spec", ["inf:1:0.1", "0:inf:0.1", "nan:1:0.1", "0:1:1e-300", "0:1e308:1e-308", "-inf:inf:1"])
def test_cli_sweep_eps_specs_that_overflow_or_explode_are_usage_errors(spec: str) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["sweep", f"--eps={spec}", "--steps", "0"]) == 2
    assert err.getvalue().startswith("python -m app: error: --eps"), err.getvalue()
