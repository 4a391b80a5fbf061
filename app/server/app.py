"""create_app(settings) → FastAPI: the page, static files, /healthz, the REST helpers and WS /ws."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..assets import STATIC, TEMPLATES, VENDOR_PLOTLY
from ..engine.bank import resolve_device
from ..lessons import Catalog
from ..lessons import load as load_lessons
from ..protocol.messages import CLOSE_GOING_AWAY
from .classroom import Classroom
from .connection import explorer_socket
from .diagnose import Slots, body_limits
from .diagnose import router as diagnose_router
from .flow import pace_every_second
from .lesson_routes import router as lesson_router
from .loop import Busy, ComputeLoop
from .room import Room, sample_every_second
from .routes import router
from .settings import Settings
from .sqlite_store import SqliteStore
from .static import StaticFiles
from .store import Store, StoreDown

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024  # the REST helpers take a few numbers; only /diagnose's routes need more (their own caps)
SHUTDOWN_REASON = "the server is shutting down; the page will reconnect"
DRAIN_REASON = "this server is closing; the page reconnects to another one"
REDIS_BACKOFF = (0.5, 4.0)  # seconds between tries while Redis is away: doubling from the first, at most the second

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds the security headers to every HTTP response (pure ASGI: no per-request overhead to speak of)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """HEAD is answered as GET without a body (uptime checkers and link previews send HEAD; the routes are GET)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class BodyLimit:
    """Refuses request bodies over MAX_BODY_BYTES with a 413 (declared or streamed), before they pile up.
    `routes`: path → (its own cap in bytes, what a client over it is told)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES,
                 routes: dict[str, tuple[int, str]] | None = None) -> None:
        self.app, self.limit, self.routes = app, limit, routes or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        default = (self.limit, f"request body too large: at most {self.limit // 1024} KB")
        limit, refusal = self.routes.get(scope["path"], default)
        too_large = JSONResponse({"error": refusal}, 413)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > limit:
            await too_large(scope, receive, send)
            return
        seen, started, refused = 0, False, False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen <= limit:
                return message
            if not started and not refused:  # answer now; the app sees the client leave
                refused = True
                await too_large(scope, receive, send)
            return {"type": "http.disconnect"}

        async def watch_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watch_send)
        except Exception:
            if not refused:
                raise


async def close_sessions(app: FastAPI, reason: str, timeout: float = 1.0) -> None:
    """Send every open session a close frame with `reason` (a stalled client gets `timeout` seconds)."""
    conns = list(app.state.connections)
    if conns:
        await asyncio.wait([asyncio.ensure_future(c.close(CLOSE_GOING_AWAY, reason)) for c in conns],
                           timeout=timeout)


async def drain(app: FastAPI) -> bool:
    """SIGTERM to a replica: take no one new at once (/readyz 503, handshakes refused), keep serving this worker's
    attendees for DRAIN_SECONDS (or until they have left) so the proxy sends newcomers elsewhere, then let them be
    closed. A server the room knows no other replica of (the embedded store: one machine) does not wait.
    Whether it waited."""
    store: Store = app.state.store
    store.drain()
    seconds = app.state.settings.drain_seconds
    if not seconds or not app.state.connections:
        return False
    try:
        others = [r for r in await store.replicas() if r["replica"] != store.replica and not r["draining"]]
    except StoreDown:
        others = [{}]  # the room store is away: another replica may well be there
    if not others:
        return False
    log.warning("draining: %d sessions close in %g s", len(app.state.connections), seconds)
    end = asyncio.get_running_loop().time() + seconds
    while app.state.connections and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.2)
    return True


def _close_sessions_on_signal(app: FastAPI) -> Callable[[], None]:
    """Chain SIGTERM/SIGINT: first close every session with a reason, then let uvicorn shut down. SIGTERM (an
    orchestrator's stop) drains first (`drain`); SIGINT (Ctrl-C) does not wait.

    uvicorn's own shutdown closes open WebSockets with 1012 and no reason before the lifespan's
    shutdown runs, so the lifespan alone is too late to tell clients why. Returns the undo.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only (TestClient runs the app elsewhere)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in signals}

    def chain(sig: int, frame: Any) -> None:
        prev = previous[sig]
        if callable(prev):
            prev(sig, frame)
        elif prev == signal.SIG_DFL:
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)

    def handler(sig: int, frame: Any) -> None:
        if app.state.shutting_down:  # a second signal: no more waiting
            chain(sig, frame)
            return
        app.state.shutting_down = True

        async def close_then_chain() -> None:
            try:
                drained = sig == signal.SIGTERM and await drain(app)
                await close_sessions(app, DRAIN_REASON if drained else SHUTDOWN_REASON)
            finally:
                chain(sig, frame)

        loop.call_soon_threadsafe(lambda: loop.create_task(close_then_chain()))

    for sig in signals:
        signal.signal(sig, handler)

    def undo() -> None:
        for sig, prev in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, prev)

    return undo


def open_store(settings: Settings) -> Store:
    """The room store: Redis at REDIS_URL (every replica one room), else the embedded one under STATE_DIR."""
    replica = f"{socket.gethostname()}:{settings.port}"  # this server, as the room names it
    if settings.redis_url:
        from .redis_store import RedisStore

        backend = RedisStore(settings.redis_url, replica, settings.max_sessions)
        return Store(backend, replica, settings.max_sessions, backoff=REDIS_BACKOFF)
    return Store(SqliteStore(settings.resolved_state_dir(), settings.max_sessions), replica, settings.max_sessions)


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    torch.set_num_threads(settings.torch_threads)
    store = open_store(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.warm_up:  # first-use costs (allocator, kernels, sklearn imports) before anyone waits
            await asyncio.get_running_loop().run_in_executor(app.state.executor, _warm_up, settings, static)
        undo = _close_sessions_on_signal(app)
        tasks = [asyncio.create_task(sample_every_second(app.state.room)),  # the /host page's numbers
                 asyncio.create_task(app.state.classroom.watch())]  # the room's lesson
        if settings.room_mbps:
            tasks.append(asyncio.create_task(pace_every_second(app.state.connections, store, settings.room_mbps)))
        try:
            yield
        finally:
            undo()
            for task in tasks:
                task.cancel()
        await close_sessions(app, SHUTDOWN_REASON)  # graceful shutdown: tell every client why
        await app.state.compute_loop.stop()
        app.state.executor.shutdown(wait=False, cancel_futures=True)
        await store.close()

    app = FastAPI(title="Label Smoothing Explorer", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(TEMPLATES))
    app.state.store = store
    app.state.executor = ThreadPoolExecutor(max_workers=settings.compute_threads, thread_name_prefix="train")
    app.state.connections = set()
    app.state.room = Room(store, app.state.connections)
    app.state.catalog = catalog if catalog is not None else load_lessons(
        extra=Path(settings.lessons_dir) if settings.lessons_dir else None)
    app.state.classroom = Classroom(store, app.state.catalog, app.state.connections)
    app.state.busy = Busy()
    app.state.compute_loop = ComputeLoop(app.state.executor, app.state.busy, fps_cap=settings.fps_cap,
                                         batch=bool(settings.batch_sessions))
    app.state.shutting_down = False
    app.state.diagnose_slots = Slots()
    app.state.device = resolve_device(settings.device).type
    app.include_router(router)
    app.include_router(lesson_router)
    app.include_router(diagnose_router)
    app.add_api_websocket_route("/ws", explorer_socket)
    static = StaticFiles(STATIC)
    app.mount("/static", static, name="static")
    app.add_middleware(BodyLimit, routes=body_limits(settings.diagnose_max_mb))
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A request that does not validate: FastAPI's 422 detail, without echoing what was sent (a NaN or ±inf
        there cannot be JSON, and an echo may be large)."""
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()[:10]]
        return JSONResponse({"detail": detail}, 422)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        """Anything unexpected: the traceback goes to the server log, the client gets a plain message."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal server error; the server log has the details"}, 500)

    return app


def create_app_from_env() -> Any:
    """uvicorn factory for worker processes: settings come from the environment."""
    return create_app(Settings.from_env(warm_up=True))


def _warm_up(settings: Settings, static: StaticFiles) -> None:
    from ..engine.config import RunConfig
    from .live import Job, LiveSession, tick_sessions

    static.load(VENDOR_PLOTLY)  # gzip the Plotly bundle now, not on the first visitor's request
    pair = [LiveSession(RunConfig(device=settings.device)) for _ in range(2)]
    for live in pair:
        live.playing = True
    for _ in range(3):  # alone, then as one bank: the first ticks of each kind cost the most
        pair[0].tick(True)
        tick_sessions([Job(live, True) for live in pair], bool(settings.batch_sessions))
