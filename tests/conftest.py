"""Shared fixtures: the app behind a TestClient, and a small synchronous WebSocket session helper.

Unit tests drive the engine directly (app/engine/loss.py … app/engine/session.py); API tests use starlette's
TestClient for HTTP and WebSocket; tests against real servers use tests/support. One torch thread, as the app
itself runs.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import torch

with warnings.catch_warnings():
    # starlette ≥ 1.x prefers httpx2 and warns once, at import, when its test client falls back to httpx.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient, WebSocketTestSession

from app.protocol.frames import PREFIX, FrameDecoder
from app.server.app import create_app
from app.server.settings import Settings

torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _no_state_in_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A test's server never keeps its room's state in the user's folder (the default STATE_DIR): each test app
    names its own (make_client, fresh_settings, ServerProcess); this catches any that does not."""
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    yield
    if saved is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = saved

RECV_TIMEOUT = 30.0  # seconds to wait for one server message before the test fails (never a hang)


class WsSession:
    """A TestClient WebSocket with timeouts and the protocol's message kinds (docs/protocol.md).

    Every frame read is decoded in order (`frame`: the last one) and, with `ack` (the default), acknowledged
    at once, as the page does."""

    def __init__(self, ws: WebSocketTestSession, ack: bool = True) -> None:
        self.ws = ws
        self.ack = ack
        self.texts: list[dict[str, Any]] = []  # every text message seen, in order
        self.hello: dict[str, Any] = {}
        self.step = 0  # the latest step the server reported, in a state message or a frame
        self.decoder = FrameDecoder()
        self.frame: dict[str, Any] | None = None  # the last frame read, decoded

    def send(self, payload: dict[str, Any] | list[Any] | str | bytes) -> None:
        if isinstance(payload, bytes):
            self.ws.send_bytes(payload)
        elif isinstance(payload, str):
            self.ws.send_text(payload)
        else:
            self.ws.send_text(json.dumps(payload))

    def recv(self, timeout: float = RECV_TIMEOUT) -> dict[str, Any] | bytes:
        """The next message: a decoded JSON text message, or the raw bytes of a frame.

        A server close raises starlette's WebSocketDisconnect (with .code and .reason).
        """
        rx = self.ws._send_rx  # the TestClient's own stream; its receive() has no timeout

        async def get() -> Any:
            with anyio.fail_after(timeout):
                return await rx.receive()

        message = self.ws.portal.call(get)
        self.ws._raise_on_close(message)
        if message.get("bytes") is not None:
            raw = bytes(message["bytes"])
            self.frame = self.decoder.decode(raw)
            self.step = max(self.step, int(self.frame["step"]))
            if self.ack:
                self.send({"type": "ack", "frame": PREFIX.unpack_from(raw)[1]})
            return raw
        data: dict[str, Any] = json.loads(message["text"])
        self.texts.append(data)
        if data.get("type") in ("hello", "state"):
            self.step = int(data["step"]) if data.get("type") == "hello" else max(self.step, int(data["step"]))
        return data

    def next_text(self, kind: str, limit: int = 2_000) -> dict[str, Any]:
        """The next text message of type `kind`; frames and other texts on the way are skipped."""
        for _ in range(limit):
            msg = self.recv()
            if isinstance(msg, dict) and msg.get("type") == kind:
                return msg
        raise AssertionError(f"no {kind!r} message within {limit} messages")

    def next_frame(self, until: Callable[[dict[str, Any]], bool] = lambda f: True,
                   limit: int = 2_000) -> dict[str, Any]:
        """The next binary frame (decoded with the stream's FrameDecoder) for which `until` holds."""
        for _ in range(limit):
            msg = self.recv()
            if isinstance(msg, bytes):
                assert self.frame is not None
                if until(self.frame):
                    return self.frame
        raise AssertionError(f"no matching frame within {limit} messages")

    def step_to(self, n: int) -> dict[str, Any]:
        """Ask for n steps while paused; the frame that shows them."""
        before = self.step
        self.send({"type": "step", "n": n})
        return self.next_frame(lambda f: f["step"] >= before + n)

    def error(self) -> str:
        """The message of the next error reply (state messages and frames on the way are skipped)."""
        return str(self.next_text("error")["message"])


@contextmanager
def ws_connect(client: TestClient, url: str = "/ws", ack: bool = True, **kwargs: Any) -> Iterator[WsSession]:
    """Open an explorer session, read its hello, and on exit wait until the server has let it go. `ack=False`: a
    client that does not acknowledge frames by itself (the test sends its acknowledgements).

    Waiting matters: TestClient cancels the app as soon as the block ends; a session still busy in its
    worker thread then surfaces as a CancelledError that belongs to the test harness, not the app.
    """
    connections: set[Any] = client.app.state.connections  # type: ignore[attr-defined]
    before = set(connections)
    with client.websocket_connect(url, **kwargs) as ws:
        session = WsSession(ws, ack=ack)
        session.hello = session.next_text("hello")
        mine = set(connections) - before  # this session's server side
        try:
            yield session
        finally:
            ws.close(1000)
            deadline = time.monotonic() + RECV_TIMEOUT
            while mine & connections and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not mine & connections, "the server kept the session after the client left"


@pytest.fixture
def make_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TestClient]]:
    """A factory: make_client(**Settings fields) → a started TestClient on a fresh app (CPU)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        state = tmp_path / f"state-{len(clients)}"  # each app has a room store of its own
        settings = Settings(**{"device": "cpu", "state_dir": str(state), **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def connect(client: TestClient) -> Callable[..., Any]:
    """connect(url="/ws", **kwargs) → context manager yielding a WsSession on the default client."""
    return lambda url="/ws", **kwargs: ws_connect(client, url, **kwargs)


@pytest.fixture
def open_ws() -> Callable[..., Any]:
    """open_ws(client, url="/ws", **kwargs) → context manager yielding a WsSession on any client."""
    return ws_connect
