"""The explorer's WebSocket protocol spoken strictly, and clients that misbehave, for tests against real servers.

Every message read through `receive` is checked: text strictly parsed (no NaN or ±Infinity) and of a known
kind, errors plain words (never a traceback), frames with a well-formed header (docs/protocol.md).
Used with tests.support.server.ServerProcess and tests.support.inprocess.ThreadServer (both have `.ws`,
`.port` and `.healthz()`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import websockets

from .server import ServerProcess, wait_until

TEXT_TYPES = {"hello", "state", "error", "pong", "lesson", "dataset"}
Message = dict[str, Any] | bytes


class Served(Protocol):
    port: int

    @property
    def ws(self) -> str: ...

    def healthz(self) -> dict[str, Any]: ...


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} in server JSON")


def strict_json(text: str | bytes) -> Any:
    """json.loads that refuses NaN and ±Infinity: the server must never send them."""
    return json.loads(text, parse_constant=_no_constant)


def frame_number(message: bytes) -> int:
    """A binary frame's number (the second uint32 LE), what an acknowledgement names."""
    return int(struct.unpack_from("<I", message, 4)[0])


def frame_header(message: bytes) -> dict[str, Any]:
    """The JSON header of a binary frame, parsed strictly (docs/protocol.md)."""
    (h,) = struct.unpack_from("<I", message, 0)
    assert 8 + h <= len(message), "frame header runs past the end"
    header: dict[str, Any] = strict_json(message[8 : 8 + h])
    assert header["type"] == "frame" and header["v"] == 2
    return header


def check_text(msg: dict[str, Any]) -> None:
    """A server text message is one of the protocol's kinds; errors are plain words, never a traceback."""
    assert msg.get("type") in TEXT_TYPES, msg
    if msg["type"] == "error":
        text = msg["message"]
        assert isinstance(text, str) and 0 < len(text) < 2_000, msg
        assert "Traceback" not in text and "File \"" not in text, text


def no_trace(text: str) -> None:
    """An answer in plain words: no stack trace, no path of the app's source."""
    assert "Traceback" not in text and 'File "' not in text and "/app/" not in text, text[:300]


async def receive(ws: Any, timeout: float, ack: bool = True) -> Message:
    """The next message, checked: text strictly parsed and of a known kind, frames with a strict header (and
    acknowledged, as the page does, unless `ack` is False)."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    if isinstance(raw, bytes):
        frame_header(raw)
        if ack:
            await ws.send(json.dumps({"type": "ack", "frame": frame_number(raw)}))
        return raw
    msg: dict[str, Any] = strict_json(raw)
    check_text(msg)
    return msg


async def until(ws: Any, pred: Callable[[Message], bool], timeout: float) -> Message:
    """Read (and check) messages until one satisfies pred; fail after `timeout` seconds in all."""
    deadline = time.monotonic() + timeout
    while True:
        msg = await receive(ws, max(0.01, deadline - time.monotonic()))
        if pred(msg):
            return msg


def is_type(kind: str) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, dict) and m.get("type") == kind


def is_frame(m: Message) -> bool:
    return isinstance(m, bytes)


async def connect(url: str, *, origin: str | None = None, timeout: float = 20.0) -> Any:
    """A raw WebSocket connection that has received its hello."""
    ws = await websockets.connect(url, open_timeout=timeout, max_size=16 * 2**20,
                                  additional_headers={"Origin": origin} if origin else None)
    hello = await receive(ws, timeout)
    assert isinstance(hello, dict) and hello["type"] == "hello", hello
    return ws


@contextlib.asynccontextmanager
async def session(url: str, **kwargs: Any) -> AsyncIterator[Any]:
    """connect(), closed on the way out whatever happens (no socket left for the garbage collector)."""
    ws = await connect(url, **kwargs)
    try:
        yield ws
    finally:
        await ws.close()


async def assert_alive(ws: Any, timeout: float = 20.0) -> None:
    """The session answers: ping → pong, and a step → a state message then a frame (or the divergence error)."""
    await ws.send('{"type": "ping"}')
    await until(ws, is_type("pong"), timeout)
    await ws.send('{"type": "step", "n": 1}')
    await until(ws, is_type("state"), timeout)
    await until(ws, lambda m: is_frame(m) or (is_type("error")(m) and "diverged" in m["message"]), timeout)


def alive(url: str) -> None:
    """A fresh session on `url` works (assert_alive), from synchronous code."""

    async def check() -> None:
        async with session(url) as ws:
            await assert_alive(ws)

    asyncio.run(check())


# How a session ends: a clean close of an idle session, a close in the middle of a 1,000-step request, a
# close while playing (a tab going away), a TCP reset without a close frame (a crash, a dropped link).
ENDINGS = ("close", "close mid-step", "close while playing", "drop off")


async def leave(url: str, ending: str) -> None:
    """Open a session, set it training (but for a plain "close") and end it the way `ending` says."""
    ws = await connect(url)
    try:
        if ending != "close":
            await ws.send('{"type": "step", "n": 1000}' if ending == "close mid-step" else '{"type": "play"}')
            await until(ws, is_frame, 20)
        if ending == "close mid-step":
            await ws.send('{"type": "step", "n": 1000}')
        if ending == "close while playing":
            await ws.close(1001, "")  # what a browser sends when the tab goes away
        elif ending != "drop off":
            await ws.close()
    finally:
        ws.transport.abort()  # drop off: a TCP reset, no close frame (the process or the network died)


def freed(srv: Served) -> bool:
    """No open sessions and no busy training thread, by the server's /healthz."""
    h = srv.healthz()
    return bool(h["sessions"] == 0 and h["busy_threads"] == 0)


# ---- clients that misbehave ----------------------------------------------------------------------------
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


async def play_frames(url: str, frames: int, timeout: float = 60.0) -> float:
    """Play a fresh session until `frames` frames (after the first) have arrived, within `timeout` seconds
    in all; the frame rate seen, for printing (a test checks that they came, bench/ times them)."""
    async with session(url) as ws:
        await ws.send('{"type": "play"}')
        await until(ws, is_frame, timeout)
        t0 = time.monotonic()
        for _ in range(frames):
            await until(ws, is_frame, max(0.01, timeout - (time.monotonic() - t0)))
        return frames / max(time.monotonic() - t0, 1e-9)


def stalled_reader_run(srv: ServerProcess, *, readers: int, frames: int, display_points: int = 3_000,
                       hold: float = 0.0) -> dict[str, Any]:
    """Another client playing alone (before and after) and beside `readers` stalled readers (held at least
    `hold` seconds); each time it must get `frames` frames. The stalled sessions keep training (training never
    waits for the network) until GIVE_UP_AFTER lets them go once a send has hung. Server memory before, while
    they are held, and at the end, and their sessions open at the end; the frame rates, the server's CPU and how
    long things took are figures to print, not to assert."""
    assert wait_until(lambda: freed(srv), 10), srv.healthz()
    solo_before = asyncio.run(play_frames(srv.ws, frames))
    rss0 = srv.rss_mb()
    socks = [stalled_reader(srv.port, display_points=display_points) for _ in range(readers)]
    try:
        t0, cpu0 = time.monotonic(), srv.cpu_seconds()
        assert wait_until(lambda: srv.healthz()["sessions"] == readers, 30), srv.healthz()
        beside = asyncio.run(play_frames(srv.ws, frames))  # the others still get their frames
        rss1 = srv.rss_mb()
        wait_until(lambda: srv.healthz()["sessions"] <= readers, 5)  # the measuring session has gone
        early = srv.healthz()["sessions"]  # held, not dropped: well within GIVE_UP_AFTER
        time.sleep(max(0.0, hold - (time.monotonic() - t0)))
        held = time.monotonic() - t0
        cpu_percent = (srv.cpu_seconds() - cpu0) / held * 100
        rss2 = srv.rss_mb()
        sessions = srv.healthz()["sessions"]
    finally:
        for s in socks:
            s.close()
    assert wait_until(lambda: freed(srv), 10), srv.healthz()
    solo_after = asyncio.run(play_frames(srv.ws, frames))
    return {"readers": readers, "frames": frames, "solo_fps": round((solo_before + solo_after) / 2, 1),
            "beside_fps": round(beside, 1), "held_s": round(held), "server_cpu_percent": round(cpu_percent),
            "rss_before_mb": round(rss0), "rss_stalled_mb": round(rss1), "rss_after_mb": round(rss2),
            "stalled_sessions_early": early, "stalled_sessions_at_end": sessions}
