"""The WebSocket endpoint: one connection = one training session. Controls in, frames out.

Controls (JSON text) are validated here (protocol/messages.py) and handed to the worker's compute loop
(loop.py), which applies them between ticks, trains every session of the worker and gives each
connection its frames. A frame is built only when the previous one has left (latest frame only, never
a queue), at most at the fps cap. docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..engine.config import MAX_MESSAGE_BYTES, RunConfig
from ..protocol.messages import (
    CLOSE_IDLE,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    ControlError,
    parse_control,
)
from . import upload
from .access import origin_allowed, token_ok
from .live import LiveSession
from .loop import Busy, ComputeLoop
from .settings import Settings

__all__ = ["Busy", "Connection", "explorer_socket"]

GIVE_UP_AFTER = 40.0  # seconds a send may hang before the client counts as gone (a dead link, a lost laptop)
# A client that leaves mid-send: the server may see any of these (starlette, uvicorn's ClientDisconnected).
GONE = (WebSocketDisconnect, RuntimeError, OSError)

log = logging.getLogger(__name__)
T = TypeVar("T")


async def explorer_socket(ws: WebSocket) -> None:
    app = ws.app
    settings: Settings = app.state.settings
    await ws.accept()
    if not origin_allowed(ws.headers, settings):
        app.state.room.refused("origin")
        await ws.close(CLOSE_POLICY, "this page's origin may not open an explorer session")
        return
    if not token_ok(ws, settings):
        app.state.room.refused("code")
        await ws.close(CLOSE_POLICY, "an access code is needed: open the link the host gave you")
        return
    ticket = app.state.registry.acquire()
    if ticket is None:
        n = settings.max_sessions
        app.state.room.refused("full")
        await ws.close(CLOSE_TRY_AGAIN, f"The explorer is full ({n}/{n}). Try again in a minute.")
        return
    conn = Connection(ws, settings, app.state.compute_loop)
    app.state.connections.add(conn)
    try:
        await conn.run()
    except (WebSocketDisconnect, OSError):
        pass  # the client left while we were talking to it (uvicorn's ClientDisconnected is an OSError)
    finally:
        app.state.connections.discard(conn)
        app.state.registry.release(ticket)


class Connection:
    def __init__(self, ws: WebSocket, settings: Settings, loop: ComputeLoop) -> None:
        self.ws, self.settings, self.loop = ws, settings, loop
        self.live: LiveSession | None = None
        self.pending: list[Any] = []  # validated controls the compute loop has not applied yet
        self.send_lock = asyncio.Lock()
        self.frame_task: asyncio.Task[None] | None = None
        self.frame_at = 0.0  # loop time the frame in flight was handed to the socket
        self.sending_since: float | None = None  # loop time the send in progress started
        self.last_activity = time.monotonic()

    async def run(self) -> None:
        config = RunConfig(device=self.settings.device)
        self.live = await self.loop.compute(lambda: LiveSession(
            config, fps_cap=self.settings.fps_cap, max_steps_per_second=self.settings.max_steps_per_second))
        await self.send_text({**self.live.state(), "type": "hello"})
        self.loop.join(self)
        receiver = asyncio.create_task(self.receive())
        watchdog = asyncio.create_task(self.watch())
        try:
            await asyncio.wait({receiver, watchdog}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.loop.leave(self)
            for task in (receiver, watchdog, self.frame_task):
                if task:
                    task.cancel()
            await asyncio.gather(receiver, watchdog, return_exceptions=True)

    async def watch(self) -> None:
        """Returns when a send has hung for GIVE_UP_AFTER seconds: the client takes nothing, so it has gone.

        Such a session ends without a close frame (it could not leave either): its thread, memory and
        session slot are freed; the socket is left to uvicorn and the kernel.
        """
        loop = asyncio.get_running_loop()
        while self.sending_since is None or loop.time() - self.sending_since < GIVE_UP_AFTER:
            await asyncio.sleep(min(5.0, GIVE_UP_AFTER / 4))
        log.info("a client took nothing for %.0f s: its session ends", GIVE_UP_AFTER)

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            try:
                await self.ws.close(code, reason)
            except (RuntimeError, OSError):
                pass

    async def send_text(self, payload: dict[str, Any]) -> None:
        async with self.send_lock, self.sending():
            await self.ws.send_text(json.dumps(payload, allow_nan=False))

    @contextlib.asynccontextmanager
    async def sending(self) -> AsyncIterator[None]:
        self.sending_since = asyncio.get_running_loop().time()
        try:
            yield
        finally:
            self.sending_since = None

    async def error(self, message: str, code: str | None = None) -> None:
        self.ws.app.state.room.error_sent()  # counted for the room page (app/server/room.py)
        await self.send_text({"type": "error", "message": message, **({"code": code} if code else {})})

    async def receive(self) -> None:
        """Read controls until the client leaves; bad ones get an error and change nothing."""
        assert self.live is not None
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), timeout=self.settings.idle_timeout)
            except TimeoutError:
                await self.close(CLOSE_IDLE, "closed after a long time without activity; reconnect to start again")
                return
            if msg["type"] == "websocket.disconnect":
                return
            self.last_activity = time.monotonic()
            try:
                self.live.admit(self.last_activity)  # every message counts against the rate limit
                text = msg.get("text")
                if text is None:
                    raise ControlError("controls are JSON text messages, not binary data")
                too_large = len(text) > MAX_MESSAGE_BYTES or len(text.encode()) > MAX_MESSAGE_BYTES
                if too_large and not upload.within_cap(text):  # a dataset message has its own cap
                    raise ControlError(f"message too large: at most {MAX_MESSAGE_BYTES // 1024} KB")
                data = json.loads(text)
                if isinstance(data, dict) and data.get("type") == "dataset":  # its file read in a thread (upload.py)
                    self.pending.append(await upload.read(data))
                    self.loop.poke()
                    continue
                if isinstance(data, dict) and data.get("type") == "ping":
                    await self.send_text({"type": "pong"})
                    continue
                self.pending.append(parse_control(data))
                self.loop.poke()
            except ControlError as err:
                await self.error(str(err))
            except (ValueError, RecursionError):
                await self.error("a control message must be valid JSON")

    async def say(self, errors: list[tuple[str, str | None]], state: dict[str, Any]) -> None:
        """Errors (message, code), then the session's confirmed state: what the loop tells a client after a
        control or an event, in that order."""
        try:
            for message, code in errors:
                await self.error(message, code)
            for reply in self.live.take_replies() if self.live is not None else []:
                await self.send_text(reply)  # a dataset's summary (server/upload.py)
            await self.send_text(state)
        except GONE:
            pass

    async def send_frame(self, frame: bytes) -> None:
        try:
            async with self.send_lock, self.sending():
                await self.ws.send_bytes(frame)
                self.ws.app.state.room.delivered(self)  # counted for the room page (app/server/room.py)
        except GONE:
            pass
