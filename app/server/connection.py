"""The WebSocket endpoint: one connection = one training session. Controls in, frames out.

Controls (JSON text) are validated (protocol/messages.py) and applied between ticks; a tick (train `speed` steps,
maybe build a frame) runs on a worker thread, off the event loop. A frame is built only when the
previous one has left (latest frame only, never a queue), at most at the fps cap. docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..engine.config import MAX_MESSAGE_BYTES, RunConfig
from ..protocol.messages import (
    CLOSE_IDLE,
    CLOSE_INTERNAL_ERROR,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    DIVERGED,
    ControlError,
    parse_control,
)
from .access import origin_allowed, token_ok
from .live import LiveSession
from .settings import Settings

STALLED_AFTER = 1.0  # seconds a frame may take to leave before training waits for the client to read
GIVE_UP_AFTER = 40.0  # seconds a send may hang before the client counts as gone (a dead link, a lost laptop)
# A client that leaves mid-send: the server may see any of these (starlette, uvicorn's ClientDisconnected).
GONE = (WebSocketDisconnect, RuntimeError, OSError)

log = logging.getLogger(__name__)
T = TypeVar("T")


class Busy:
    """How many training jobs run on worker threads in this process right now (/healthz `busy_threads`).

    A closed session must free its thread, not only its registry ticket: this is how tests see it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            self.value += 1
        try:
            return fn(*args)
        finally:
            with self._lock:
                self.value -= 1


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
    conn = Connection(ws, settings, app.state.executor, app.state.busy)
    app.state.connections.add(conn)
    try:
        await conn.run()
    except (WebSocketDisconnect, OSError):
        pass  # the client left while we were talking to it (uvicorn's ClientDisconnected is an OSError)
    finally:
        app.state.connections.discard(conn)
        app.state.registry.release(ticket)


class Connection:
    def __init__(self, ws: WebSocket, settings: Settings, executor: ThreadPoolExecutor, busy: Busy) -> None:
        self.ws, self.settings, self.executor, self.busy = ws, settings, executor, busy
        self.live: LiveSession | None = None
        self.pending: list[Any] = []
        self.wake = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.frame_task: asyncio.Task[None] | None = None
        self.frame_at = 0.0  # loop time the frame in flight was handed to the socket
        self.sending_since: float | None = None  # loop time the send in progress started
        self.last_activity = time.monotonic()

    async def compute(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn on a training thread (off the event loop), counted in `busy`."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.busy.run, fn, *args)

    async def run(self) -> None:
        config = RunConfig(device=self.settings.device)
        self.live = await self.compute(lambda: LiveSession(
            config, fps_cap=self.settings.fps_cap, max_steps_per_second=self.settings.max_steps_per_second))
        await self.send_text({**self.live.state(), "type": "hello"})
        producer = asyncio.create_task(self.produce())
        receiver = asyncio.create_task(self.receive())
        watchdog = asyncio.create_task(self.watch())
        try:
            await asyncio.wait({producer, receiver, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if producer.done() and not receiver.done():  # the producer never returns on its own: a bug
                err = None if producer.cancelled() else producer.exception()
                if not isinstance(err, GONE):
                    log.error("session producer stopped", exc_info=err)
                    await self.close(CLOSE_INTERNAL_ERROR,
                                     "the session stopped after an internal error; reload to start again")
        finally:
            for task in (producer, receiver, watchdog, self.frame_task):
                if task:
                    task.cancel()
            await asyncio.gather(producer, receiver, watchdog, return_exceptions=True)

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
                if len(text) > MAX_MESSAGE_BYTES or len(text.encode()) > MAX_MESSAGE_BYTES:
                    raise ControlError(f"message too large: at most {MAX_MESSAGE_BYTES // 1024} KB")
                data = json.loads(text)
                if isinstance(data, dict) and data.get("type") == "ping":
                    await self.send_text({"type": "pong"})
                    continue
                self.pending.append(parse_control(data))
                self.wake.set()
            except ControlError as err:
                await self.error(str(err))
            except (ValueError, RecursionError):
                await self.error("a control message must be valid JSON")

    async def produce(self) -> None:
        """Apply controls, tick, send frames; sleeps when paused and nothing is pending.

        One clock with period 1/fps: each tick trains (while playing, or for pending `step`s) and
        builds a frame if the previous one has left the socket. Deadlines advance by whole periods, so
        the cadence does not drift, and a control cannot make a session train sooner. A control while
        nothing trains is shown at once; while training, the next tick (within one period) shows it.
        Beyond capacity a tick waits up to one period for its previous frame to leave, rather than
        spend CPU on training that no frame would show.
        """
        assert self.live is not None
        loop = asyncio.get_running_loop()
        next_tick = 0.0
        while True:
            live = self.live
            if self.pending:
                await self.apply_pending(live)
                if not live.steps_per_tick():
                    next_tick = min(next_tick, loop.time())  # nothing trains: show the change now
            period = 1.0 / live.fps
            now = loop.time()
            steps = live.steps_per_tick()
            if not steps and not live.dirty:
                await self.nap(None)
                continue
            if now < next_tick - 0.002:
                await self.nap(next_tick - now)
                continue
            frame_free = self.frame_task is None or self.frame_task.done()
            if not frame_free:
                if steps and now - self.frame_at > STALLED_AFTER:
                    await self.nap(0.25)  # the client has stopped reading: no training for nobody to watch
                    continue
                if not steps or now - self.frame_at < period:
                    await self.nap(0.002)  # the last frame is still leaving: wait for it, briefly
                    continue
            was_diverged = live.session.diverged
            try:
                frame = await self.compute(live.tick, frame_free, steps > 0)
            except Exception:  # a bug in training or framing: pause and say so, rather than go silent
                log.exception("a training tick failed")
                live.playing, live.pending_steps, live.dirty = False, 0, False
                await self.error("training stopped after an internal error; reset to start again")
                await self.send_text(live.state())
                continue
            next_tick = max(next_tick + period, now)
            if frame is not None:
                self.frame_task = asyncio.create_task(self.send_frame(frame))
                self.frame_at = now
            if live.session.diverged and not was_diverged:
                await self.error(live.session.diverged, DIVERGED)
                await self.send_text(live.state())

    async def apply_pending(self, live: LiveSession) -> None:
        """Apply the controls received since the last tick, then confirm the state to the client."""
        controls, self.pending = self.pending, []
        for ctrl in controls:
            try:
                await self.compute(live.apply, ctrl)
            except ControlError as err:
                await self.error(str(err), err.code)
            except Exception:  # a bug must not end the session: report it, keep the previous state
                log.exception("applying a %s control failed", type(ctrl).__name__)
                await self.error("that control could not be applied; the session keeps its previous state")
        await self.send_text(live.state())

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
            async with self.send_lock, self.sending():
                await self.ws.send_bytes(frame)
                self.ws.app.state.room.delivered(self)  # counted for the room page (app/server/room.py)
        except GONE:
            pass
