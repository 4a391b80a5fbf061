"""The WebSocket endpoint: one connection = one training session. Controls in, frames out.

Controls (JSON text) are validated here (protocol/messages.py) and handed to the worker's compute loop
(loop.py), which applies them between ticks, trains every session of the worker and gives each
connection its frames. Acknowledgements of frames go to the connection's flow control (flow.py): a
frame is built only when the page has acknowledged enough of the earlier ones (never a queue), from
the newest state, at most at the fps cap. docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..engine.config import MAX_MESSAGE_BYTES, RunConfig
from ..protocol.frames import PREFIX
from ..protocol.messages import (
    CLOSE_IDLE,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    RATE_LIMITED,
    ROOM_TYPES,
    Answer,
    ControlError,
    parse_control,
    parse_room,
)
from . import upload
from .access import origin_allowed, token_ok
from .classroom import Classroom
from .flow import AckError, FlowControl
from .live import LiveSession
from .loop import Busy, ComputeLoop
from .settings import Settings
from .store import Store, StoreDown

__all__ = ["Busy", "Connection", "explorer_socket"]

BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # the page's random id (one answer per browser), as it may come
GIVE_UP_AFTER = 40.0  # seconds a send may hang before the client counts as gone (a dead link, a lost laptop)
# A client that leaves mid-send: the server may see any of these (starlette, uvicorn's ClientDisconnected).
GONE = (WebSocketDisconnect, RuntimeError, OSError)

log = logging.getLogger(__name__)
T = TypeVar("T")


async def explorer_socket(ws: WebSocket) -> None:
    app = ws.app
    settings: Settings = app.state.settings
    if app.state.shutting_down:  # draining: the proxy tries another replica (docs/deploy.md)
        await elsewhere(ws, "this server is closing: another one takes new sessions")
        return
    if not origin_allowed(ws.headers, settings):
        app.state.room.refused("origin")
        await ws.accept()
        await ws.close(CLOSE_POLICY, "this page's origin may not open an explorer session")
        return
    if not token_ok(ws, settings):
        app.state.room.refused("code")
        await ws.accept()
        await ws.close(CLOSE_POLICY, "an access code is needed: open the link the host gave you")
        return
    store: Store = app.state.store
    browser = browser_id(ws.query_params.get("browser"))
    try:
        ticket = await store.call("acquire", store.worker, store.pid, browser)
    except StoreDown:  # the room store is away: this worker admits up to its share, the room catches up later
        ticket = None if len(app.state.connections) >= settings.max_sessions else f"local-{uuid.uuid4().hex}"
    if ticket is None:
        if await seats_elsewhere(store):  # this replica is full, another has seats: the proxy tries it
            await elsewhere(ws, "this server is full: another one has seats")
            return
        n = settings.max_sessions
        app.state.room.refused("full")
        await ws.accept()
        await ws.close(CLOSE_TRY_AGAIN, f"The explorer is full ({n}/{n}). Try again in a minute.")
        return
    conn = Connection(ws, settings, app.state.compute_loop, app.state.classroom)
    conn.ticket, conn.browser = ticket, browser
    app.state.connections.add(conn)
    try:
        await ws.accept()
        await conn.run()
    except (WebSocketDisconnect, OSError):
        pass  # the client left while we were talking to it (uvicorn's ClientDisconnected is an OSError)
    finally:
        with contextlib.suppress(StoreDown):
            await store.call("release", ticket)
        app.state.connections.discard(conn)


async def seats_elsewhere(store: Store) -> int:
    """Free seats on the room's other replicas (0 where the store knows none, or is away)."""
    try:
        return await store.seats_elsewhere()
    except StoreDown:
        return 0


async def elsewhere(ws: WebSocket, reason: str) -> None:
    """Refuse the handshake itself with HTTP 503 (ASGI's websocket.http.response): a proxy then tries the next
    replica (nginx `proxy_next_upstream http_503`), and a page whose proxy found none reconnects after its wait.
    A server without the extension: close 1013 with the reason, as a full room does."""
    try:
        await ws.send_denial_response(PlainTextResponse(reason + "\n", 503, headers={"retry-after": "2"}))
    except RuntimeError:
        await ws.accept()
        await ws.close(CLOSE_TRY_AGAIN, reason)


def browser_id(given: str | None) -> str:
    """The browser's id from the socket's ?browser= (a random id the page keeps), checked; a fresh one otherwise."""
    return given if given and BROWSER_ID.fullmatch(given) else f"anon-{uuid.uuid4().hex}"


class Connection:
    def __init__(self, ws: WebSocket, settings: Settings, loop: ComputeLoop, classroom: Classroom) -> None:
        self.ws, self.settings, self.loop, self.classroom = ws, settings, loop, classroom
        self.live: LiveSession | None = None
        self.pending: list[Any] = []  # validated controls the compute loop has not applied yet
        self.send_lock = asyncio.Lock()
        self.frame_task: asyncio.Task[None] | None = None
        self.sending_since: float | None = None  # loop time the send in progress started
        self.last_activity = time.monotonic()  # the last control (acknowledgements do not count: idle timeout)
        self.flow = FlowControl()
        self.flood_said = -1e9  # when the last "too many messages" error went out (one a second at most)
        self.ticket = ""  # the session's place in the room store
        self.browser = ""  # the page's id: one answer per browser
        self.following = True  # follows the host's pace in a lesson (the page's "explore on my own" turns it off)
        self.assigned_eps: float | None = None  # the ε the room's sweep gave this attendee
        self.texts: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        config = RunConfig(device=self.settings.device)
        self.live = await self.loop.compute(lambda: LiveSession(
            config, fps_cap=self.settings.fps_cap, max_steps_per_second=self.settings.max_steps_per_second))
        self.live.room_paused = self.classroom.state.paused and self.classroom.lesson is not None
        await self.send_text({**self.live.state(), "type": "hello"})
        await self.send_text(await self.classroom.welcome(self))  # a late joiner lands where the room is
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
        """Read controls and acknowledgements until the client leaves; bad ones get an error and change nothing."""
        assert self.live is not None
        while True:
            idle_left = self.settings.idle_timeout - (time.monotonic() - self.last_activity)
            if idle_left <= 0:
                await self.close(CLOSE_IDLE, "closed after a long time without activity; reconnect to start again")
                return
            try:
                msg = await asyncio.wait_for(self.ws.receive(), timeout=idle_left)
            except TimeoutError:
                continue
            if msg["type"] == "websocket.disconnect":
                return
            now = time.monotonic()
            text = msg.get("text")
            try:
                if text is not None and len(text) <= 64 and '"ack"' in text and self.acknowledge(json.loads(text), now):
                    continue  # a frame acknowledged: neither a control nor activity, and not rate-limited
                self.last_activity = now
                self.live.admit(now)  # every other message counts against the rate limit
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
                if isinstance(data, dict) and data.get("type") == "ack":
                    self.acknowledge(data, now, strict=True)
                    continue
                if isinstance(data, dict) and data.get("type") in ROOM_TYPES:
                    room = parse_room(data)
                    if isinstance(room, Answer):
                        await self.classroom.answer(self, room.step, room.value)
                    else:
                        await self.classroom.follow(self, room.on)
                    continue
                self.pending.append(parse_control(data))
                self.loop.poke()
            except (ControlError, AckError) as err:
                if getattr(err, "code", None) == RATE_LIMITED:
                    if now - self.flood_said < 1.0:
                        continue  # a flood gets one error a second, not one per message
                    self.flood_said = now
                await self.error(str(err), getattr(err, "code", None))
            except (ValueError, RecursionError):
                await self.error("a control message must be valid JSON")

    def acknowledge(self, data: Any, now: float, strict: bool = False) -> bool:
        """Take `{"type": "ack", "frame": N}`: True when it acknowledged frames. A malformed or unknown one
        returns False (then it is read again as a control, which counts against the rate limit: `strict`),
        and raises AckError there, one error message a second at most (flow.py)."""
        if not (isinstance(data, dict) and data.get("type") == "ack"):
            return False
        frame = data.get("frame")
        try:
            if set(data) != {"type", "frame"} or not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
                raise AckError('an acknowledgement is {"type": "ack", "frame": N}, N the number of a frame received'
                               f" (got {json.dumps(data)[:80]})")
            self.flow.ack(frame, now)
        except AckError:
            if not strict:
                return False
            if self.flow.refused(now):
                raise
            return True
        if self.live is not None and self.live.dirty and not self.live.steps_per_tick():
            self.loop.poke()  # a change waits for the window: show it now
        return True

    def spawn_text(self, payload: dict[str, Any]) -> None:
        """Send a text message in a task of its own (the room's news: nobody waits for a slow client)."""

        async def send() -> None:
            with contextlib.suppress(*GONE):
                await self.send_text(payload)

        task = asyncio.create_task(send())
        self.texts.add(task)
        task.add_done_callback(self.texts.discard)

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

    def frame_out(self, frame: bytes, now: float) -> asyncio.Task[None]:
        """Hand a frame to the socket (its own task); the flow control counts it as in flight from now."""
        self.flow.sent(PREFIX.unpack_from(frame)[1], now, len(frame))
        self.frame_task = asyncio.create_task(self.send_frame(frame))
        return self.frame_task

    async def send_frame(self, frame: bytes) -> None:
        try:
            async with self.send_lock, self.sending():
                await self.ws.send_bytes(frame)
        except GONE:
            pass
