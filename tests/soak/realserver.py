"""Real explorer servers for the reliability tests, and the strict checks they share.

ThreadServer runs create_app(settings) under uvicorn in a thread of the test process (the app's state
can be inspected: connections, busy threads); ProcessServer runs `python -m app serve` as a
subprocess (memory is measured on it, signals are sent to it). Both speak the real WebSocket protocol
through uvicorn, with the same limits as `app/server/supervisor.py`.

Used by tests/api/test_fuzz.py, tests/api/test_reliability.py and tests/soak/.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import uvicorn
import websockets

from app.protocol.messages import MAX_MESSAGE_BYTES
from app.server.app import create_app
from app.server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WS_MAX_SIZE = MAX_MESSAGE_BYTES + 1024  # as app/server/supervisor.py passes to uvicorn
TEXT_TYPES = {"hello", "state", "error", "pong"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.05) -> bool:
    """Poll pred until it is truthy or timeout seconds pass; returns whether it became truthy."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} in server JSON")


def strict_json(text: str | bytes) -> Any:
    """json.loads that refuses NaN and ±Infinity: the server must never send them."""
    return json.loads(text, parse_constant=_no_constant)


def frame_header(message: bytes) -> dict[str, Any]:
    """The JSON header of a binary frame, parsed strictly (docs/protocol.md)."""
    (h,) = struct.unpack_from("<I", message, 0)
    assert 4 + h <= len(message), "frame header runs past the end"
    header = strict_json(message[4 : 4 + h])
    assert header["type"] == "frame" and header["v"] == 1
    return header


def check_text(msg: dict[str, Any]) -> None:
    """A server text message is one of the protocol's kinds; errors are plain words, never a traceback."""
    assert msg.get("type") in TEXT_TYPES, msg
    if msg["type"] == "error":
        text = msg["message"]
        assert isinstance(text, str) and 0 < len(text) < 2_000, msg
        assert "Traceback" not in text and "File \"" not in text, text


async def receive(ws: Any, timeout: float) -> dict[str, Any] | bytes:
    """The next message, checked: text strictly parsed and of a known kind, frames with a strict header."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    if isinstance(raw, bytes):
        frame_header(raw)
        return raw
    msg = strict_json(raw)
    check_text(msg)
    return msg


async def until(ws: Any, pred: Callable[[dict[str, Any] | bytes], bool], timeout: float) -> dict[str, Any] | bytes:
    """Read (and check) messages until one satisfies pred."""
    deadline = time.monotonic() + timeout
    while True:
        msg = await receive(ws, max(0.01, deadline - time.monotonic()))
        if pred(msg):
            return msg


def is_type(kind: str) -> Callable[[dict[str, Any] | bytes], bool]:
    return lambda m: isinstance(m, dict) and m.get("type") == kind


@contextlib.asynccontextmanager
async def session(url: str, **kwargs: Any) -> AsyncIterator[Any]:
    """connect(), closed on the way out whatever happens (no socket left for the garbage collector)."""
    ws = await connect(url, **kwargs)
    try:
        yield ws
    finally:
        await ws.close()


async def connect(url: str, *, origin: str | None = None, timeout: float = 20.0) -> Any:
    """A raw WebSocket connection that has received its hello."""
    ws = await websockets.connect(url, open_timeout=timeout, max_size=16 * 2**20,
                                  additional_headers={"Origin": origin} if origin else None)
    hello = await receive(ws, timeout)
    assert isinstance(hello, dict) and hello["type"] == "hello", hello
    return ws


async def assert_alive(ws: Any, timeout: float = 20.0) -> None:
    """The session answers: ping → pong, and a step → a state message then a frame (or the divergence error)."""
    await ws.send('{"type": "ping"}')
    await until(ws, is_type("pong"), timeout)
    await ws.send('{"type": "step", "n": 1}')
    await until(ws, is_type("state"), timeout)
    await until(ws, lambda m: isinstance(m, bytes) or (is_type("error")(m) and "diverged" in m["message"]),
                timeout)


class Recorder(logging.Handler):
    """Keeps the app's log records of level WARNING and above from one thread (the server's event loop)."""

    def __init__(self, thread: str) -> None:
        super().__init__(logging.WARNING)
        self.thread = thread
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == self.thread:
            self.records.append(record)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]


class ThreadServer:
    """create_app(settings) served by uvicorn in a thread of this process, on a free port.

    `log` records what the app logged at WARNING and above (the app's logger, not uvicorn's).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.app = create_app(settings or Settings(device="cpu"))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        config = uvicorn.Config(self.app, ws_max_size=WS_MAX_SIZE, timeout_graceful_shutdown=3,
                                log_level="critical", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name=f"explorer-server-{self.port}")
        self.log = Recorder(self.thread.name)

    def __enter__(self) -> ThreadServer:
        logging.getLogger("app").addHandler(self.log)
        self.thread.start()
        assert wait_until(lambda: self.server.started, 30), "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()
        logging.getLogger("app").removeHandler(self.log)

    def health(self) -> dict[str, Any]:
        return dict(get_json(self.url + "/healthz"))

    def idle(self) -> bool:
        """No open sessions, no connection objects, no training thread busy."""
        h = self.health()
        return h["sessions"] == 0 and h["busy_threads"] == 0 and not self.app.state.connections


class ProcessServer:
    """`python -m app serve` as a subprocess on a free port (workers=1: one process, no supervisor)."""

    def __init__(self, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.workers = workers
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "DEVICE": "cpu", **env}
        self.env.pop("LSE_REGISTRY_DIR", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - not a pipe: nobody reads it while the server runs

    def __enter__(self) -> ProcessServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers), "--device", "cpu"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.output()
            try:
                get_json(self.url + "/healthz", timeout=2)
                return True
            except (OSError, urllib.error.URLError):
                return False

        assert wait_until(up, 60, 0.1), "server did not come up"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()

    def output(self) -> str:
        """What the server has printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def health(self) -> dict[str, Any]:
        return dict(get_json(self.url + "/healthz"))

    def pids(self) -> list[int]:
        """The server process and its worker processes."""
        assert self.proc is not None
        out = [self.proc.pid]
        for child in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            out += [int(p) for p in child.read_text().split()]
        return out

    def rss_mb(self) -> float:
        """Resident memory of the server and its workers, MB (from /proc)."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                pass
        return total / 1024

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server and its workers have used so far."""
        ticks = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
            except FileNotFoundError:
                pass
        return ticks / os.sysconf("SC_CLK_TCK")


# ---- clients that misbehave ----------------------------------------------------------------------------
def freed(srv: ProcessServer | ThreadServer) -> bool:
    h = srv.health()
    return h["sessions"] == 0 and h["busy_threads"] == 0


def raw_ws_text_frame(text: str) -> bytes:
    """A masked client→server text frame (RFC 6455), for a hand-made client that never reads."""
    payload = text.encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    n = len(payload)
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def stalled_reader(port: int, path: str = "/ws", display_points: int = 300) -> socket.socket:
    """A client that opens a session, asks it to play, then never reads another byte.

    Until the kernel's socket buffers (MBs) fill, its frames still leave; more display points fill them sooner.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    if display_points != 300:
        sock.sendall(raw_ws_text_frame(json.dumps({"type": "reset", "config": {"display_points": display_points}})))
    sock.sendall(raw_ws_text_frame('{"type": "play"}'))
    return sock


async def frames_per_second(url: str, seconds: float) -> float:
    async with session(url) as ws:
        await ws.send('{"type": "play"}')
        await until(ws, lambda m: isinstance(m, bytes), 20)
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            if isinstance(await receive(ws, 20), bytes):
                n += 1
        rate = n / (time.monotonic() - t0)
    return rate


def stalled_reader_run(srv: ProcessServer, *, readers: int, seconds: float, display_points: int = 3_000,
                       hold: float = 0.0) -> dict[str, float]:
    """Another client's frame rate alone (before and after) and beside stalled readers (held at least `hold`
    seconds); server memory before, once they have stalled, and at the end."""
    assert wait_until(lambda: freed(srv), 10)
    solo_before = asyncio.run(frames_per_second(srv.ws_url, seconds))
    rss0 = srv.rss_mb()
    socks = [stalled_reader(srv.port, display_points=display_points) for _ in range(readers)]
    try:
        t0, cpu = time.monotonic(), srv.cpu_seconds()

        def stalled() -> bool:  # their buffers are full and their sessions wait: the server idles
            nonlocal cpu
            time.sleep(1.0)
            used, cpu = srv.cpu_seconds() - cpu, srv.cpu_seconds()
            return used < 0.15

        assert wait_until(stalled, 60, 0), "sessions with a stalled reader kept the server busy"
        stall_s = time.monotonic() - t0
        rss1 = srv.rss_mb()
        beside = asyncio.run(frames_per_second(srv.ws_url, seconds))
        time.sleep(max(0.0, hold - (time.monotonic() - t0)))
        held = time.monotonic() - t0
        rss2 = srv.rss_mb()
        wait_until(lambda: srv.health()["sessions"] <= readers, 5)  # the measuring session has gone
        sessions = srv.health()["sessions"]  # still there, only stalled, until GIVE_UP_AFTER lets them go
    finally:
        for s in socks:
            s.close()
    assert wait_until(lambda: freed(srv), 10), srv.health()
    solo_after = asyncio.run(frames_per_second(srv.ws_url, seconds))
    return {"readers": readers, "solo_fps": round((solo_before + solo_after) / 2, 1), "beside_fps": round(beside, 1),
            "stalled_after_s": round(stall_s, 1), "held_s": round(held), "rss_before_mb": round(rss0),
            "rss_stalled_mb": round(rss1), "rss_after_mb": round(rss2), "stalled_sessions_at_end": sessions}
