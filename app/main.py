"""create_app(settings) → FastAPI: the page, static files, /healthz, the REST helpers and WS /ws."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import torch
from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .capacity import SessionRegistry
from .routes import router
from .settings import Settings
from .static import StaticFiles
from .ws import CLOSE_GOING_AWAY, explorer_socket

ROOT = Path(__file__).resolve().parent.parent
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    torch.set_num_threads(settings.torch_threads)
    registry_dir = os.environ.get("LSE_REGISTRY_DIR") or tempfile.mkdtemp(prefix="lse-sessions-")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for conn in list(app.state.connections):  # graceful shutdown: tell every client why
            await conn.close(CLOSE_GOING_AWAY, "the server is shutting down; the page will reconnect")
        app.state.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="Label Smoothing Explorer", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(ROOT / "templates"))
    app.state.registry = SessionRegistry(registry_dir, settings.max_sessions)
    app.state.executor = ThreadPoolExecutor(max_workers=settings.compute_threads, thread_name_prefix="train")
    app.state.connections = set()
    app.state.device = "cuda" if settings.device != "cpu" and torch.cuda.is_available() else "cpu"
    app.include_router(router)
    app.add_api_websocket_route("/ws", explorer_socket)
    app.mount("/static", StaticFiles(ROOT / "static"), name="static")
    app.add_middleware(SecurityHeaders)
    return app


def create_app_from_env() -> Any:
    """uvicorn factory for worker processes: settings come from the environment."""
    return create_app(Settings.from_env())
