"""A room of attendees for the lesson tests against real servers: each one a page's socket (its browser id in the
query, frames acknowledged as the page does, every message checked by tests.support.wire), and the host's POST.

    a = await Attendee(server.ws, "attendee-01").open()
    post(server.http, CODE, "start", lesson="three-steps")
    await everyone(room, "at step 1", lambda m: m.get("step") == 1)
    a.frames, a.last, a.closed                 # frames received, the latest `lesson` message, the close (code, reason)
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import websockets

from . import wire
from .server import await_for

TIMEOUT = 60.0  # seconds for one wait; the machine may be busy
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(http: str, code: str, action: str, **body: Any) -> dict[str, Any]:
    """The host's command (POST /api/lesson with the host code); its JSON answer (HTTPError on a refusal)."""
    request = urllib.request.Request(f"{http}/api/lesson?code={code}", method="POST",
                                     data=json.dumps({"action": action, **body}).encode(),
                                     headers={"content-type": "application/json"})
    with _OPENER.open(request, timeout=30) as resp:
        return dict(json.loads(resp.read()))


class Attendee:
    """One page's socket: keeps the `lesson` and `state` messages, counts (and acknowledges) frames, and the
    close the server sent."""

    def __init__(self, url: str, browser: str) -> None:
        self.url = f"{url}?browser={browser}"
        self.browser = browser
        self.lessons: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.frames = 0
        self.closed: tuple[int, str] | None = None
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None

    async def open(self, url: str | None = None) -> Attendee:
        """Connect (again: to `url`, with the same browser id, as the page reconnects)."""
        if url is not None:
            self.url = f"{url}?browser={self.browser}"
        self.closed, self.lessons, self.states = None, [], []  # what this socket says, not the last one
        self.ws = await websockets.connect(self.url, open_timeout=TIMEOUT, max_size=16 * 2**20, proxy=None)
        self.reader = asyncio.create_task(self.read())
        return self

    async def read(self) -> None:
        try:
            while True:
                msg = await wire.receive(self.ws, 3600)
                if isinstance(msg, bytes):
                    self.frames += 1
                elif msg["type"] == "lesson":
                    self.lessons.append(msg)
                elif msg["type"] in ("state", "hello"):
                    self.states.append(msg)
        except websockets.ConnectionClosed as err:
            self.closed = (err.rcvd.code, err.rcvd.reason) if err.rcvd else (1006, "")
        except asyncio.CancelledError:
            pass

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    @property
    def last(self) -> dict[str, Any]:
        return self.lessons[-1] if self.lessons else {}

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()


async def everyone(room: list[Attendee], what: str, check: Callable[[dict[str, Any]], bool],
                   timeout: float = TIMEOUT) -> None:
    """Wait until every attendee's latest `lesson` message passes `check` (AssertionError naming `what`)."""
    async def all_there() -> bool:
        return all(check(a.last) for a in room)

    await await_for(all_there, timeout, f"all {len(room)} attendees: {what}", 0.05)


async def eventually(check: Callable[[], Any], what: str, timeout: float = TIMEOUT, blocking: bool = False) -> Any:
    """Wait until `check()` is truthy and return it. `blocking`: it runs in a thread (HTTP to a server), so the
    attendees' sockets keep reading meanwhile."""
    async def probe() -> Any:
        return await asyncio.to_thread(check) if blocking else check()

    return await await_for(probe, timeout, what, 0.05)
