"""The `dataset` control over a real WebSocket (docs/protocol.md, "Your own data"): a CSV file, an example,
another label; every bad file of tests/cases/csv answered with its sentence while the session keeps its run and
the server keeps serving; the size caps; the file held in the session's memory only and dropped with it."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.config import MAX_DATASET_MESSAGE_BYTES, MAX_MESSAGE_BYTES
from app.engine.csvread import decode
from tests.support import wire
from tests.support.csvcases import BadCase, bad_cases
from tests.support.inprocess import WS_MAX_SIZE, ThreadServer
from tests.support.server import REPO, wait_until
from tests.unit.test_csvread import csv_text

pytestmark = pytest.mark.timeout(180)
KEPT = ("step", "mode", "config", "class_names", "eps", "data")


def as_text(raw: bytes) -> str:
    """A file's text as the page decodes it (UTF-8, else Latin-1); the size is the server's to check here."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def dataset(case: BadCase) -> str:
    """The message the page sends for a file: its text decoded as the page decodes it, type first."""
    return json.dumps({"type": "dataset", "name": case.file, "csv": as_text(case.data()),
                       **({"label": case.label} if case.label else {}),
                       **({"classes": case.classes} if case.classes else {})})


async def settled(ws: Any) -> dict[str, Any]:
    """A session a few steps into a run of its own (digits, ε 0.2), and its state."""
    await ws.send(json.dumps({"type": "reset", "config": {"dataset": "digits", "eps": 0.2}}))
    await wire.until(ws, wire.is_type("state"), 30)
    await ws.send(json.dumps({"type": "step", "n": 7}))
    await wire.until(ws, lambda m: wire.is_frame(m) and wire.frame_header(m)["step"] == 7, 30)  # type: ignore[arg-type]
    await ws.send('{"type": "set"}')
    state = await wire.until(ws, wire.is_type("state"), 30)
    assert isinstance(state, dict)
    return state


@pytest.mark.parametrize("case", bad_cases(), ids=lambda c: c.id)
def test_a_bad_file_gets_its_sentence_and_changes_nothing(server: ThreadServer, case: BadCase) -> None:
    async def go() -> None:
        async with wire.session(server.ws) as ws:
            before = await settled(ws)
            await ws.send(dataset(case))
            err = await wire.until(ws, wire.is_type("error"), 60)
            assert isinstance(err, dict) and err["message"] == f"{case.file}: {case.message}"
            await ws.send('{"type": "set"}')  # the state, as the server has it now
            after = await wire.until(ws, wire.is_type("state"), 30)
            assert isinstance(after, dict) and {k: after[k] for k in KEPT} == {k: before[k] for k in KEPT}
            await ws.send(json.dumps({"type": "step", "n": 2}))
            await wire.until(ws, lambda m: wire.is_frame(m) and wire.frame_header(m)["step"] == 9, 30)  # type: ignore[arg-type]

    asyncio.run(go())
    wire.alive(server.ws)  # and a new session works
    assert server.healthz()["status"] == "ok"


def test_a_file_trains_with_its_class_names_and_the_inspector_shows_its_row(server: ThreadServer) -> None:
    text = (REPO / "app" / "engine" / "penguins.csv").read_text(encoding="utf-8")

    async def go() -> None:
        async with wire.session(server.ws) as ws:
            await ws.send(json.dumps({"type": "dataset", "name": "penguins.csv", "csv": text, "label": "island"}))
            answer = await wire.until(ws, wire.is_type("dataset"), 60)
            state = await wire.until(ws, wire.is_type("state"), 30)
            assert isinstance(answer, dict) and isinstance(state, dict)
            summary = answer["summary"]
            assert summary["name"] == "penguins.csv" and summary["label"] == "island"
            assert state["class_names"] == [c["name"] for c in summary["classes"]] == ["Biscoe", "Dream", "Torgersen"]
            assert state["config"]["dataset"] == "csv" and state["step"] == 0
            assert state["data"] == {"name": "penguins.csv", "sha256": summary["sha256"], "label": "island",
                                     "classes": ["Biscoe", "Dream", "Torgersen"]}
            await ws.send(json.dumps({"type": "inspect", "index": 0}))
            await ws.send(json.dumps({"type": "step", "n": 3}))
            frame = await wire.until(ws, lambda m: wire.is_frame(m) and "inspect" in wire.frame_header(m), 30)  # type: ignore[arg-type]
            assert isinstance(frame, bytes)
            row = wire.frame_header(frame)["inspect"]["row"]
            assert [c for c, _ in row["cells"]][:3] == ["species", "island", "bill_length_mm"]
            assert text.splitlines()[row["line"] - 1] == ",".join(v for _, v in row["cells"])
            # another label, classes in the page's order: no second upload
            await ws.send(json.dumps({"type": "dataset", "classes": ["Chinstrap", "Adelie", "Gentoo"]}))
            again = await wire.until(ws, wire.is_type("dataset"), 30)
            assert isinstance(again, dict) and again["summary"]["label"] == "species"
            state = await wire.until(ws, wire.is_type("state"), 30)
            assert isinstance(state, dict) and state["class_names"] == ["Chinstrap", "Adelie", "Gentoo"]

    asyncio.run(go())


def test_an_example_a_sweep_and_the_lab_on_the_sessions_file(server: ThreadServer) -> None:
    async def go() -> None:
        async with wire.session(server.ws) as ws:
            await ws.send(json.dumps({"type": "sweep", "eps": [0, 0.1, 0.2]}))
            await wire.until(ws, wire.is_type("state"), 30)
            await ws.send(json.dumps({"type": "dataset", "example": "wine"}))
            await wire.until(ws, wire.is_type("dataset"), 60)
            state = await wire.until(ws, wire.is_type("state"), 30)
            assert isinstance(state, dict) and state["mode"] == "sweep" and state["sweep_eps"] == [0, 0.1, 0.2]
            await ws.send(json.dumps({"type": "distill", "teacher_steps": 3, "student_steps": 3}))
            state = await wire.until(ws, wire.is_type("state"), 30)
            assert isinstance(state, dict) and state["mode"] == "distill" and state["config"]["dataset"] == "csv"
            await ws.send(json.dumps({"type": "reset", "config": {"dataset": "iris"}}))
            await ws.send(json.dumps({"type": "reset", "config": {"dataset": "csv"}}))  # the file is still held
            await wire.until(ws, lambda m: wire.is_type("state")(m) and m["config"]["dataset"] == "csv", 30)  # type: ignore[index]

    asyncio.run(go())


def test_a_link_names_the_file_by_its_fingerprint(server: ThreadServer) -> None:
    text = (REPO / "app" / "engine" / "wine.csv").read_text(encoding="utf-8")

    async def go() -> None:
        async with wire.session(server.ws) as ws:
            await ws.send(json.dumps({"type": "dataset", "name": "wine.csv", "csv": text}))
            answer = await wire.until(ws, wire.is_type("dataset"), 60)
            assert isinstance(answer, dict)
            sha = answer["summary"]["sha256"]
            other = text.replace("14.23", "14.24", 1)
            await ws.send(json.dumps({"type": "dataset", "name": "wine2.csv", "csv": other, "sha256": sha}))
            err = await wire.until(ws, wire.is_type("error"), 60)
            assert isinstance(err, dict) and err["message"].startswith(
                "wine2.csv: this is not the file the link was made with (its fingerprint is ")
            await ws.send('{"type": "set"}')
            state = await wire.until(ws, wire.is_type("state"), 30)
            assert isinstance(state, dict) and state["data"]["name"] == "wine.csv"  # not used
            await ws.send(json.dumps({"type": "dataset", "name": "wine.csv", "csv": text, "sha256": sha}))
            await wire.until(ws, wire.is_type("dataset"), 60)

    asyncio.run(go())


def test_the_size_caps(server: ThreadServer) -> None:
    async def go() -> None:
        async with wire.session(server.ws) as ws:
            await ws.send(json.dumps({"type": "reset", "config": {"seed": 3}, "pad": "x" * MAX_MESSAGE_BYTES}))
            err = await wire.until(ws, wire.is_type("error"), 30)
            assert isinstance(err, dict) and err["message"] == "message too large: at most 64 KB"
            late = json.dumps({"csv": "a" * MAX_MESSAGE_BYTES, "type": "dataset"})  # its type must come first
            await ws.send(late)
            err = await wire.until(ws, wire.is_type("error"), 30)
            assert isinstance(err, dict) and err["message"] == "message too large: at most 64 KB"
            await wire.assert_alive(ws)

    assert WS_MAX_SIZE == MAX_DATASET_MESSAGE_BYTES + 1024  # uvicorn lets a 5 MB file through, JSON escapes and all
    asyncio.run(go())


def test_no_file_no_csv_run(connect: Any) -> None:
    with connect() as s:
        s.send({"type": "reset", "config": {"dataset": "csv"}})
        assert s.error() == "no CSV file in this session: choose one first (dataset: your own CSV)"
        s.send({"type": "dataset", "label": "species"})
        assert s.error() == "no CSV file in this session yet: send its text (csv) or an example first"
        s.send({"type": "dataset", "example": "penguins", "csv": "a,b"})
        assert s.error() == "a dataset message carries a csv or an example, not both"
        s.send({"type": "dataset", "example": "mnist"})
        assert "no example named 'mnist'; the examples are penguins, wine" in s.error()
        s.send({"type": "dataset", "example": "penguins", "classes": ["Adelie", "Gentoo"]})
        assert "classes" in s.error()


def test_the_file_lives_in_the_sessions_memory_and_goes_with_it(client: Any, connect: Any) -> None:
    with connect() as s:
        s.send({"type": "dataset", "example": "penguins"})
        s.next_text("dataset")
        (conn,) = client.app.state.connections
        held = weakref.ref(conn.live.csv)
        del conn
        assert held() is not None

    def dropped() -> bool:
        gc.collect()
        return held() is None

    assert wait_until(dropped, 20)  # the room's counts let go of a closed connection within seconds
    with connect() as s:  # a new session does not have it
        s.send({"type": "reset", "config": {"dataset": "csv"}})
        assert "no CSV file in this session" in s.error()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(text=csv_text(), raw=st.binary(max_size=500))
def test_random_files_never_break_a_session(server: ThreadServer, text: str, raw: bytes) -> None:
    async def go() -> None:
        async with wire.session(server.ws) as ws:
            for body in (text, decode(raw)):
                await ws.send(json.dumps({"type": "dataset", "name": "random.csv", "csv": body}))
                answer = await wire.until(ws, lambda m: wire.is_type("error")(m) or wire.is_type("dataset")(m), 30)
                assert isinstance(answer, dict) and (answer["type"] == "dataset" or
                                                     answer["message"].startswith("random.csv: "))
            await wire.assert_alive(ws)

    asyncio.run(go())
