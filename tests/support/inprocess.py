"""create_app(settings) served by uvicorn in a thread of the test process, on a free port.

Unlike tests.support.server.ServerProcess, the app's state can be inspected (connections, busy threads)
and what it logs is recorded; it speaks the real WebSocket protocol through uvicorn with the limits
app/server/supervisor.py gives it.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import tempfile
import threading
from typing import Any, cast

import uvicorn

from app.server.app import create_app
from app.server.settings import Settings
from app.server.supervisor import UVICORN

from .server import Local, get_json, wait_until

WS_MAX_SIZE = cast(int, UVICORN["ws_max_size"])  # as `python -m app serve` runs uvicorn


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


def fresh_settings(**overrides: Any) -> Settings:
    """Settings for a test's app (CPU) with a room store of its own in a fresh temporary folder, unless given."""
    overrides.setdefault("device", "cpu")
    if not overrides.get("state_dir"):
        overrides["state_dir"] = tempfile.mkdtemp(prefix="lse-state-")
    return Settings(**overrides)


class ThreadServer(Local):
    """`log` records what the app logged at WARNING and above (the app's logger, not uvicorn's). Settings
    without a STATE_DIR get a room store of their own (fresh_settings)."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings(device="cpu")
        if not settings.state_dir:
            settings = dataclasses.replace(settings, state_dir=tempfile.mkdtemp(prefix="lse-state-"))
        self.app = create_app(settings)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
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

    def healthz(self) -> dict[str, Any]:
        return dict(get_json(self.http + "/healthz"))

    def idle(self) -> bool:
        """No open sessions, no connection objects, no training thread busy."""
        h = self.healthz()
        return bool(h["sessions"] == 0 and h["busy_threads"] == 0 and not self.app.state.connections)
