"""The WebSocket endpoint: one connection = one training session. Controls in, frames out.

Controls (JSON text) are validated (schema.py) and applied between ticks; a tick (train `speed` steps,
maybe build a frame) runs on a worker thread, off the event loop. A frame is built only when the
previous one has left (latest frame only, never a queue), at most at the fps cap. docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .access import origin_allowed, token_ok
from .live import LiveSession
from .schema import MAX_MESSAGE_BYTES, ControlError, RunConfig, parse_control
from .settings import Settings

CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
CLOSE_GOING_AWAY = 1001


async def explorer_socket(ws: WebSocket) -> None:
    app = ws.app
    settings: Settings = app.state.settings
    await ws.accept()
    if not origin_allowed(ws.headers, settings):
        await ws.close(CLOSE_POLICY, "this page's origin may not open an explorer session")
        return
    if not token_ok(ws, settings):
        await ws.close(CLOSE_POLICY, "an access code is needed: open the link the host gave you")
        return
    ticket = app.state.registry.acquire()
    if ticket is None:
        n = settings.max_sessions
        await ws.close(CLOSE_TRY_AGAIN, f"The explorer is full ({n}/{n}). Try again in a minute.")
        return
    conn = Connection(ws, settings, app.state.executor)
    app.state.connections.add(conn)
    try:
        await conn.run()
    finally:
        app.state.connections.discard(conn)
        app.state.registry.release(ticket)


class Connection:
    def __init__(self, ws: WebSocket, settings: Settings, executor: ThreadPoolExecutor) -> None:
        self.ws, self.settings, self.executor = ws, settings, executor
        self.live: LiveSession | None = None
        self.pending: list[Any] = []
        self.wake = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.frame_task: asyncio.Task[None] | None = None
        self.last_activity = time.monotonic()
        self.closing = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        config = RunConfig(device=self.settings.device)  # type: ignore[arg-type]
        self.live = await loop.run_in_executor(
            self.executor, lambda: LiveSession(config, fps_cap=self.settings.fps_cap,
                                               max_steps_per_second=self.settings.max_steps_per_second))
        await self.send_text({**self.live.state(), "type": "hello"})
        producer = asyncio.create_task(self.produce())
        try:
            await self.receive()
        finally:
            producer.cancel()
            if self.frame_task:
                self.frame_task.cancel()
            await asyncio.gather(producer, return_exceptions=True)

    async def close(self, code: int, reason: str) -> None:
        self.closing = True
        if self.ws.application_state == WebSocketState.CONNECTED:
            try:
                await self.ws.close(code, reason)
            except (RuntimeError, OSError):
                pass

    async def send_text(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(payload, allow_nan=False))

    async def error(self, message: str) -> None:
        await self.send_text({"type": "error", "message": message})

    async def receive(self) -> None:
        """Read controls until the client leaves; bad ones get an error and change nothing."""
        assert self.live is not None
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), timeout=self.settings.idle_timeout)
            except TimeoutError:
                await self.close(CLOSE_GOING_AWAY, "closed after a long time without activity; reload to start again")
                return
            if msg["type"] == "websocket.disconnect":
                return
            self.last_activity = time.monotonic()
            text = msg.get("text")
            if text is None:
                await self.error("controls are JSON text messages, not binary data")
                continue
            if len(text.encode()) > MAX_MESSAGE_BYTES:
                await self.error(f"message too large: at most {MAX_MESSAGE_BYTES // 1024} KB")
                continue
            try:
                self.live.admit(self.last_activity)
                data = json.loads(text)
                if isinstance(data, dict) and data.get("type") == "ping":
                    await self.send_text({"type": "pong"})
                    continue
                self.pending.append(parse_control(data))
                self.wake.set()
            except (ValueError, RecursionError) as err:
                detail = str(err) if isinstance(err, ControlError) else "a control message must be valid JSON"
                await self.error(detail)

    async def produce(self) -> None:
        """Apply controls, tick, send frames; sleeps when paused and nothing is pending."""
        assert self.live is not None
        loop = asyncio.get_running_loop()
        next_frame = 0.0
        while True:
            live = self.live
            if self.pending:
                controls, self.pending = self.pending, []
                for ctrl in controls:
                    try:
                        await loop.run_in_executor(self.executor, live.apply, ctrl)
                    except ControlError as err:
                        await self.error(str(err))
                await self.send_text(live.state())
                next_frame = 0.0  # show the change at once
            steps = live.steps_per_tick()
            if not steps and not live.dirty:
                await self.nap(None)
                continue
            now = loop.time()
            want = (self.frame_task is None or self.frame_task.done()) and now >= next_frame
            if not steps and not want:  # only a frame to send: wait for the socket or the fps clock
                await self.nap(max(next_frame - now, 0.005))
                continue
            was_diverged = live.session.diverged
            frame = await loop.run_in_executor(self.executor, live.tick, want)
            if frame is not None:
                next_frame = now + 1.0 / live.fps
                self.frame_task = asyncio.create_task(self.send_frame(frame))
            if live.session.diverged and not was_diverged:
                await self.error(live.session.diverged)
                await self.send_text(live.state())
            if steps:
                await self.nap(max(0.0, now + 1.0 / live.fps - loop.time()))

    async def nap(self, timeout: float | None) -> None:
        """Sleep until a control arrives or `timeout` seconds pass (None: until a control)."""
        self.wake.clear()
        if self.pending:
            return
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except TimeoutError:
            pass

    async def send_frame(self, frame: bytes) -> None:
        try:
            async with self.send_lock:
                await self.ws.send_bytes(frame)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
