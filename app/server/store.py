"""The room's state, in one home: who is connected (the session cap), each worker's numbers, the lesson's state,
answers and results (docs/architecture.md, "The room's state").

`RoomStore` is what the server needs of it; `sqlite_store.SqliteStore` keeps it in an embedded database under
STATE_DIR (one machine: every worker, and across a restart). `Store` is the server's handle: every call runs on
one thread of its own, off the event loop, and a store that fails is reported (`ok`, `since`), never the end of
a session: the sessions keep training and drawing, only room-wide features wait.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
ACTIONS = ("start", "next", "prev", "goto", "pause", "resume", "reveal", "spread_eps", "end")


@dataclass(frozen=True)
class LessonState:
    """Where the room's lesson is. `run` counts lessons started (answers and results belong to one); `version`
    counts commands (a worker that sees it change reads the state again)."""

    name: str | None = None  # None: no lesson running
    step: int = 0  # 0-based
    paused: bool = False
    revealed: bool = False
    spread: int = 0  # how many times the host spread ε in this step (0: not spread)
    run: int = 0
    version: int = 0
    updated: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def next_state(state: LessonState, action: str, name: str | None, step: int | None, total: int) -> LessonState:
    """The lesson after a host action (pure: both stores apply it inside their own transaction). `total` is the
    steps of the lesson named (start) or running (the rest). ValueError in words for an action that cannot be."""
    now = time.time()
    if action == "start":
        first = 0 if step is None else step - 1
        if not 0 <= first < total:
            raise ValueError(f"step {step} is not a step of this lesson: 1 to {total}")
        return LessonState(name, first, False, False, 0, state.run + 1, state.version + 1, now)
    if state.name is None:
        raise ValueError("no lesson is running: start one first")
    if action == "end":
        return LessonState(None, 0, False, False, 0, state.run, state.version + 1, now)
    if action in ("next", "prev", "goto"):
        if action == "goto" and step is None:
            raise ValueError(f"goto needs the step to go to (1 to {total})")
        to = state.step + 1 if action == "next" else state.step - 1 if action == "prev" else (step or 0) - 1
        if action == "next" and to >= total:
            raise ValueError("this is the last step")
        if action == "prev" and to < 0:
            raise ValueError("this is the first step")
        if not 0 <= to < total:
            raise ValueError(f"step {step} is not a step of this lesson: 1 to {total}")
        return LessonState(state.name, to, state.paused, False, 0, state.run, state.version + 1, now)
    flags: dict[str, dict[str, Any]] = {"pause": {"paused": True}, "resume": {"paused": False},
                                        "reveal": {"revealed": True}, "spread_eps": {"spread": state.spread + 1}}
    if action not in flags:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    fields = {**state.as_dict(), **flags[action], "version": state.version + 1, "updated": now}
    return LessonState(**fields)


@dataclass(frozen=True)
class Member:
    """A session as the room sees it."""

    ticket: str
    worker: str
    browser: str
    joined: float
    following: bool = True


class RoomStore(Protocol):
    kind: str

    def acquire(self, worker: str, pid: int, browser: str) -> str | None: ...
    def release(self, ticket: str) -> None: ...
    def count(self) -> int: ...
    def members(self) -> list[Member]: ...
    def follow(self, ticket: str, on: bool) -> None: ...
    def put_stats(self, worker: str, pid: int, stats: dict[str, Any]) -> None: ...
    def stats(self, fresh_for: float) -> list[dict[str, Any]]: ...
    def lesson(self) -> LessonState: ...
    def command(self, action: str, name: str | None, step: int | None, total: int) -> LessonState: ...
    def answer(self, run: int, step: int, browser: str, value: Any) -> None: ...
    def answers(self, run: int, step: int) -> dict[str, int]: ...
    def answers_by(self, run: int, step: int) -> dict[str, Any]: ...
    def put_results(self, run: int, rows: list[dict[str, Any]]) -> None: ...
    def keep(self, key: str, value: str | None) -> None: ...
    def kept(self, key: str) -> str | None: ...
    def results(self, run: int) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...


def worker_id() -> str:
    """This worker process, as the room names it: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Store:
    """The server's handle on its RoomStore: calls run on one thread of their own; failures are counted, logged
    once, and raised as StoreDown so the caller can go on without the room."""

    def __init__(self, backend: RoomStore) -> None:
        self.backend = backend
        self.kind = backend.kind
        self.worker = worker_id()
        self.pid = os.getpid()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="room-store")
        self.ok = True
        self.since: float | None = None  # wall time the store stopped answering (None: it answers)

    async def call(self, method: str, *args: Any) -> Any:
        fn = getattr(self.backend, method)
        try:
            result = await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        except ValueError:
            raise  # a refusal in words (a bad host action): the store itself is fine
        except Exception as err:  # noqa: BLE001 - the store is down or broken: the room waits, sessions go on
            if self.ok:
                log.warning("the room store stopped answering: %s", err)
                self.ok, self.since = False, time.time()
            raise StoreDown(str(err)) from err
        if not self.ok:
            log.info("the room store answers again")
        self.ok, self.since = True, None
        return result

    async def close(self) -> None:
        """Close the backend on its own thread, after the calls already queued (a connection releasing its
        place); calls after this find the store away (StoreDown)."""
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.backend.close)
        except Exception:  # noqa: BLE001 - closing what is broken already
            pass
        self.executor.shutdown(wait=False, cancel_futures=True)


class StoreDown(RuntimeError):
    """The room store did not answer; str() says why."""
