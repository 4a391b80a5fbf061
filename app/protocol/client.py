"""An async Python client of the explorer's WebSocket protocol (tests, benchmarks, notebooks).

    async with ExplorerClient("ws://127.0.0.1:8000/ws") as c:
        await c.play()
        frame = await c.next_frame(timeout=5)
        await c.set(eps=0.25)

It speaks the flow control (docs/protocol.md): every frame it reads is decoded in order (the stream
sends only what changed) and acknowledged, so the server sends the next one. `ack=False` makes a client
that never acknowledges (it gets a frame about once a second).
"""

from __future__ import annotations

import asyncio
import json
import time
from types import TracebackType
from typing import Any

import websockets

from .frames import PREFIX, FrameDecoder, frame_dict

__all__ = ["ExplorerClient", "ExplorerError", "frame_dict"]


class ExplorerError(RuntimeError):
    """The server answered a control with an error message."""


class ExplorerClient:
    def __init__(self, url: str, *, origin: str | None = None, token: str | None = None,
                 open_timeout: float = 10.0, ack: bool = True) -> None:
        if token:
            url += ("&" if "?" in url else "?") + f"token={token}"
        self.url, self.origin, self.open_timeout = url, origin, open_timeout
        self.ws: Any = None
        self.hello: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.errors: list[str] = []
        self.texts: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ack = ack
        self.decoder = FrameDecoder()

    async def __aenter__(self) -> ExplorerClient:
        headers = {"Origin": self.origin} if self.origin else None
        self.ws = await websockets.connect(self.url, open_timeout=self.open_timeout, max_size=16 * 2**20,
                                           additional_headers=headers)
        first = await self._recv(self.open_timeout)
        if not isinstance(first, dict) or first.get("type") != "hello":
            raise ExplorerError(f"expected a hello message, got {first!r}")
        self.hello = self.state = first
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.ws.close()

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(payload))

    async def play(self) -> None:
        await self.send({"type": "play"})

    async def pause(self) -> None:
        await self.send({"type": "pause"})

    async def step(self, n: int = 1) -> None:
        await self.send({"type": "step", "n": n})

    async def set(self, **changes: Any) -> None:
        await self.send({"type": "set", **changes})

    async def reset(self, **config: Any) -> None:
        await self.send({"type": "reset", "config": config})

    async def sweep(self, eps: list[float], **config: Any) -> None:
        await self.send({"type": "sweep", "eps": eps, "config": config})

    async def _recv(self, timeout: float | None) -> dict[str, Any] | bytes:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(raw, bytes):
            if self.ack:
                await self.send({"type": "ack", "frame": PREFIX.unpack_from(raw)[1]})
            return raw
        msg: dict[str, Any] = json.loads(raw)
        if msg.get("type") == "error":
            self.errors.append(msg["message"])
        elif msg.get("type") in ("state", "hello"):
            self.state = msg
        return msg

    async def next_frame(self, timeout: float = 10.0, raise_errors: bool = False) -> dict[str, Any]:
        """The next binary frame, decoded; text messages on the way update .state and .errors."""
        deadline = time.monotonic() + timeout
        while True:
            msg = await self._recv(max(0.0, deadline - time.monotonic()))
            if isinstance(msg, bytes):
                return self.decoder.decode(msg)
            self.texts.put_nowait(msg)
            if raise_errors and msg.get("type") == "error":
                raise ExplorerError(msg["message"])

    async def next_text(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next text message of type `kind` (frames on the way are decoded, acknowledged and dropped)."""
        while not self.texts.empty():
            queued = self.texts.get_nowait()
            if queued.get("type") == kind:
                return queued
        deadline = time.monotonic() + timeout
        while True:
            msg = await self._recv(max(0.0, deadline - time.monotonic()))
            if isinstance(msg, bytes):
                self.decoder.decode(msg)
            elif msg.get("type") == kind:
                return msg
