"""Reliability and security of the live explorer (issue 7): limits, divergence, disconnects, a stalled
reader, hostile pages, error responses, graceful shutdown. Real servers throughout (tests/soak/realserver.py).

The 1,000-cycle soak and the long stalled-reader run are in tests/soak (`make soak`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import signal
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import websockets
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "soak"))
import realserver as rs  # noqa: E402

import app.__main__ as cli  # noqa: E402
from app.server.app import create_app  # noqa: E402
from app.server.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DIVERGED = re.compile(r"^training diverged at step (\d+) \(learning rate too high\?\); reset or lower it$")
FREED_WITHIN = 2.0  # seconds: a session and its training thread are freed this soon after the client leaves


@pytest.fixture(scope="module")
def server() -> Any:
    with rs.ThreadServer(Settings(device="cpu", max_sessions=200)) as srv:
        yield srv
        assert not srv.log.records, srv.log.messages()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


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
        server: rs.ThreadServer, message: dict[str, Any], field: str, words: list[str]) -> None:
    async def go() -> None:
        async with rs.session(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "set", "eps": 0.25, "lr": 0.02, "speed": 5, "fps": 20}))
            before = await rs.until(ws, rs.is_type("state"), 20)
            await ws.send(json.dumps(message))
            err = await rs.until(ws, rs.is_type("error"), 20)
            assert isinstance(err, dict) and field in err["message"], err
            for w in words:
                assert w in err["message"], err
            await ws.send('{"type": "set"}')  # an empty change: the server answers with its state
            after = await rs.until(ws, rs.is_type("state"), 20)
            assert isinstance(before, dict) and isinstance(after, dict)
            assert {k: after[k] for k in LIVE_KEYS} == {k: before[k] for k in LIVE_KEYS}
            await rs.assert_alive(ws)

    run(go())


def test_message_over_64_kb_is_refused_by_name(server: rs.ThreadServer) -> None:
    async def go() -> None:
        async with rs.session(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "set", "eps": 0.3, "note": "x" * 65_536}))
            err = await rs.until(ws, rs.is_type("error"), 20)
            assert isinstance(err, dict) and err["message"] == "message too large: at most 64 KB"
            await rs.assert_alive(ws)

    run(go())


def test_the_largest_twin_the_limits_allow_is_accepted(server: rs.ThreadServer) -> None:
    big = {"points": 20_000, "hidden": 512, "penultimate": 256}

    async def go() -> None:
        async with rs.session(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "reset", "config": big}))
            state = await rs.until(ws, rs.is_type("state"), 60)
            assert isinstance(state, dict) and {k: state["config"][k] for k in big} == big

    run(go())


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
    deadline = time.monotonic() + 30
    while True:
        msg = await rs.receive(ws, max(0.1, deadline - time.monotonic()))
        if isinstance(msg, bytes):
            frames.append(msg)
        elif msg["type"] == "error":
            m = DIVERGED.match(msg["message"])
            assert m, msg
            return int(m.group(1)), frames


async def collect_until_state(ws: Any, pred: Any, timeout: float = 20) -> dict[str, Any]:
    msg = await rs.until(ws, lambda m: rs.is_type("state")(m) and pred(m), timeout)
    assert isinstance(msg, dict)
    return msg


def finite_metrics(frame: bytes) -> None:
    header = rs.frame_header(frame)
    for r in header["runs"]:
        for k, v in r["metrics"].items():
            assert v is None or isinstance(v, int | float), (k, v)


def test_divergence_pauses_says_so_and_lowering_lr_or_reset_continues(server: rs.ThreadServer) -> None:
    async def go() -> None:
        async with rs.session(server.ws_url) as ws:
            # sgd with weight decay 1 is stable at lr 0.01 and blows up within a few steps at lr 10
            await ws.send(json.dumps({"type": "reset", "config": {"optimizer": "sgd", "lr": 0.01, "weight_decay": 1}}))
            await collect_until_state(ws, lambda s: s["config"]["optimizer"] == "sgd")
            step, frames = await diverge(ws, trigger={"type": "set", "lr": 10})  # set lr to 10 during play
            assert step >= 1
            state = await collect_until_state(ws, lambda s: s["diverged"] is not None)
            assert state["playing"] is False and DIVERGED.match(state["diverged"])
            # play is refused while diverged, with the same words
            await ws.send('{"type": "play"}')
            err = await rs.until(ws, rs.is_type("error"), 10)
            assert isinstance(err, dict) and DIVERGED.match(err["message"])
            # a frame after the divergence says so in its header, with no NaN anywhere (strict parse)
            await ws.send('{"type": "set", "fps": 30}')
            frame = await rs.until(ws, lambda m: isinstance(m, bytes), 20)
            assert isinstance(frame, bytes)
            header = rs.frame_header(frame)
            assert header["diverged"] and DIVERGED.match(header["diverged"])
            finite_metrics(frame)
            # lowering the learning rate clears it and training goes on
            await ws.send('{"type": "set", "lr": 0.01}')
            state = await collect_until_state(ws, lambda s: s["lr"] == 0.01)
            assert state["diverged"] is None
            await ws.send('{"type": "play"}')
            start = state["step"]
            while True:
                frame = await rs.until(ws, lambda m: isinstance(m, bytes), 20)
                assert isinstance(frame, bytes)
                header = rs.frame_header(frame)
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
            await rs.assert_alive(ws)

    run(go())


# ---- 4. disconnects ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proc_server() -> Any:
    with rs.ProcessServer(workers=1, MAX_SESSIONS="200") as srv:
        yield srv


async def busy_session(url: str, *, big_step: bool) -> Any:
    """A session that is training right now: playing, or in the middle of a 1,000-step request."""
    ws = await rs.connect(url)
    await ws.send('{"type": "step", "n": 1000}' if big_step else '{"type": "play"}')
    await rs.until(ws, lambda m: isinstance(m, bytes), 20)
    return ws


@pytest.mark.parametrize("how", ["close mid-step", "close the tab while playing", "drop off (no close frame)"])
def test_a_leaving_client_frees_its_session_and_thread_within_2_s(proc_server: rs.ProcessServer, how: str) -> None:
    assert rs.wait_until(lambda: rs.freed(proc_server), 10)

    async def go() -> None:
        ws = await busy_session(proc_server.ws_url, big_step=how == "close mid-step")
        try:
            if how == "close mid-step":
                await ws.send('{"type": "step", "n": 1000}')
                await ws.close()
            elif how == "close the tab while playing":
                await ws.close(1001, "")  # what a browser sends when the tab goes away
        finally:
            ws.transport.abort()  # drop off: a TCP reset, no close frame (the process or the network died)

    run(go())
    t0 = time.monotonic()
    assert rs.wait_until(lambda: rs.freed(proc_server), FREED_WITHIN, 0.02), proc_server.health()
    print(f"{how}: freed in {time.monotonic() - t0:.2f} s")


def test_a_killed_client_process_frees_its_session_within_2_s(proc_server: rs.ProcessServer) -> None:
    import subprocess

    script = ("import asyncio, sys\nfrom app.protocol.client import ExplorerClient\n"
              "async def main():\n"
              f"    async with ExplorerClient({proc_server.ws_url!r}) as c:\n"
              "        await c.play(); await c.next_frame(20); print('playing', flush=True); await asyncio.sleep(60)\n"
              "asyncio.run(main())\n")
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"playing"
        assert proc_server.health()["sessions"] == 1
        child.kill()
        child.wait(10)
        t0 = time.monotonic()
        assert rs.wait_until(lambda: rs.freed(proc_server), FREED_WITHIN, 0.02), proc_server.health()
        print(f"killed client: freed in {time.monotonic() - t0:.2f} s")
    finally:
        child.kill()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


def test_a_reader_that_stops_reading_neither_grows_memory_nor_slows_the_others(
        proc_server: rs.ProcessServer) -> None:
    fig = rs.stalled_reader_run(proc_server, readers=2, seconds=3.0)
    print(f"stalled reader: {fig}")
    assert fig["beside_fps"] > 0.5 * fig["solo_fps"], fig
    assert fig["rss_after_mb"] - fig["rss_before_mb"] < 50, fig
    assert fig["stalled_sessions_at_end"] == 2, fig  # stalled, not dropped: well within GIVE_UP_AFTER


def test_a_client_that_takes_nothing_is_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client whose socket accepts nothing (a dead link, a sleeping laptop) loses its session once a send has hung
    for GIVE_UP_AFTER seconds (40 in production, 2 here); the others carry on."""
    import app.server.connection

    monkeypatch.setattr(app.server.connection, "GIVE_UP_AFTER", 2.0)
    with rs.ThreadServer(Settings(device="cpu")) as srv:
        sock = rs.stalled_reader(srv.port, display_points=3_000)  # big frames: its buffers fill in seconds
        try:
            assert rs.wait_until(lambda: srv.health()["sessions"] == 1, 10)
            assert rs.wait_until(lambda: rs.freed(srv), 60, 0.2), srv.health()

            async def others() -> None:
                async with rs.session(srv.ws_url) as ws:
                    await rs.assert_alive(ws)

            run(others())
        finally:
            sock.close()
        assert not srv.log.records, srv.log.messages()


# ---- 5. security ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("origin", "allowed"), [
    (None, True),  # scripts and the CLI send no Origin
    ("same", True),
    ("https://evil.example", False),
    ("http://127.0.0.1:1", False),  # same host, another port: another origin
    ("null", False),  # sandboxed frames and file:// pages
    ("http://127.0.0.1.evil.example", False),
])
def test_websocket_checks_origin_against_the_served_host(server: rs.ThreadServer, origin: str | None,
                                                          allowed: bool) -> None:
    if origin == "same":
        origin = server.url

    async def go() -> None:
        headers = {"Origin": origin} if origin else None
        async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
            if allowed:
                hello = await rs.receive(ws, 20)
                assert isinstance(hello, dict) and hello["type"] == "hello"
                return
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await rs.receive(ws, 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert "origin" in closed.value.rcvd.reason

    run(go())


@pytest.fixture(scope="module")
def http() -> Any:
    with TestClient(create_app(Settings(device="cpu")), raise_server_exceptions=False) as client:
        yield client


def test_no_cors_anywhere(http: TestClient) -> None:
    evil = {"Origin": "https://evil.example"}
    preflight = http.options("/api/calculate", headers={**evil, "Access-Control-Request-Method": "POST",
                                                          "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code in (404, 405), preflight.status_code
    for r in [preflight, http.get("/healthz", headers=evil), http.get("/api/config", headers=evil),
              http.post("/api/calculate", json={"probs": [0.5, 0.5], "label": 0, "eps": 0.1}, headers=evil)]:
        assert not any(k.lower().startswith("access-control-") for k in r.headers), dict(r.headers)
    assert not any("cors" in m.cls.__name__.lower() for m in http.app.user_middleware)  # type: ignore[attr-defined]


JS_TYPES = {"", "module", "text/javascript", "application/javascript", "text/ecmascript", "application/ecmascript"}


class ScriptAudit(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> inline event handler")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            kind = (a.get("type") or "").strip().lower()
            # a data block (type="application/json") is never executed, so CSP has nothing to say about it
            self._in_script = kind in JS_TYPES
            if a.get("src"):
                self.scripts.append(str(a["src"]))
            elif kind in JS_TYPES:
                self.problems.append("<script> without src (inline script)")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script body: {data.strip()[:60]!r}")


def test_page_has_a_strict_csp_and_no_inline_script(http: TestClient) -> None:
    r = http.get("/")
    assert r.status_code == 200
    csp = {d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split(";") if d.strip()}
    assert csp["script-src"] == ["'self'"], csp
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert r.headers["x-content-type-options"] == "nosniff"
    audit = ScriptAudit()
    audit.feed(r.text)
    assert not audit.problems, audit.problems
    assert audit.scripts, "the page loads no script at all?"
    for src in audit.scripts:  # every script comes from this server
        assert src.startswith("/static/"), src
        assert http.get(src).status_code == 200, src


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/js/socket.js", "/nope", "/api/config"])
def test_security_headers_on_every_response(http: TestClient, path: str) -> None:
    r = http.get(path)
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def no_trace(r: Any) -> None:
    assert "Traceback" not in r.text and 'File "' not in r.text and "/app/" not in r.text, r.text[:300]


def test_errors_are_friendly_json_without_stack_traces(http: TestClient) -> None:
    r = http.get("/no/such/page")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    no_trace(r)
    r = http.delete("/healthz")
    assert r.status_code == 405
    no_trace(r)
    r = http.post("/api/calculate", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()
    no_trace(r)
    r = http.post("/api/calculate", json={"probs": [1e308, 1e308], "label": 0, "eps": 0.1})
    assert r.status_code == 422 and "error" in r.json()
    no_trace(r)


def test_huge_bodies_are_refused_before_they_are_read(http: TestClient) -> None:
    r = http.post("/api/calculate", content=b"[" * 10_000_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json() == {"error": "request body too large: at most 64 KB"}
    assert "frame-ancestors" in r.headers["content-security-policy"]

    def chunks() -> Any:  # no Content-Length: counted as it streams
        for _ in range(200):
            yield b"0" * 4096

    r = http.post("/api/calculate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    no_trace(r)


def test_an_unexpected_error_is_logged_and_answered_plainly(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(device="cpu"))

    @app.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"error": "internal server error; the server log has the details"}
    assert "secret" not in r.text
    no_trace(r)
    assert any(rec.exc_info and rec.exc_info[0] is ZeroDivisionError for rec in caplog.records)


def test_the_container_runs_as_a_non_root_user() -> None:
    dockerfile = ROOT / "Dockerfile"
    if not dockerfile.exists():
        pytest.skip("no Dockerfile in this checkout")
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users, "the Dockerfile has no USER line: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]


# ---- 6. graceful shutdown -----------------------------------------------------------------------------
SHUTDOWN = (1001, "the server is shutting down; the page will reconnect")


async def close_of(ws: Any, timeout: float = 10.0) -> tuple[int, str]:
    """Read until the server closes; the close code and reason it sent."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
    rcvd = ws.protocol.close_rcvd
    return (-1, "no close frame") if rcvd is None else (rcvd.code, rcvd.reason)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_closes_every_session_with_a_reason_and_exits_within_5_s(workers: int) -> None:
    with rs.ProcessServer(workers=workers) as srv:
        assert srv.proc is not None
        proc = srv.proc

        async def go() -> tuple[float, list[tuple[int, str]]]:
            async with contextlib.AsyncExitStack() as stack:
                clients = [await stack.enter_async_context(rs.session(srv.ws_url)) for _ in range(4)]
                for ws, control in zip(clients, ['{"type": "play"}', '{"type": "step", "n": 1000}',
                                                 '{"type": "play"}', '{"type": "ping"}'], strict=True):
                    await ws.send(control)  # playing, mid-way through a big step, idle
                await asyncio.sleep(0.5)
                proc.send_signal(signal.SIGTERM)
                t0 = time.monotonic()
                return t0, list(await asyncio.gather(*(close_of(ws) for ws in clients)))

        t0, got = run(go())
        proc.wait(10)
        exited = time.monotonic() - t0
        print(f"workers={workers}: closes {got}, exited {exited:.2f} s after SIGTERM")
        assert got == [SHUTDOWN] * 4, got
        assert exited < 5.0, exited
        assert proc.returncode in (0, -signal.SIGTERM), (proc.returncode, srv.output())
