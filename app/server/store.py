"""The room's state, in one home: who is connected (the session cap), each worker's numbers, the lesson's state,
answers and results (docs/architecture.md, "The room's state").

`RoomStore` is what the server needs of it; `sqlite_store.SqliteStore` keeps it in an embedded database under
STATE_DIR (one machine: every worker, and across a restart), `redis_store.RedisStore` in Redis (REDIS_URL: every
replica on every machine is one room; it also knows the room's replicas, `ReplicaStore`). `Store` is the
server's handle: every call runs on one thread of its own, off the event loop, and a store that fails is
reported (`ok`, `since`), never the end of a session: the sessions keep training and drawing, only room-wide
features wait. A remote store that fails is tried again on a back-off schedule, and calls fail at once meanwhile.
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
from typing import Any, Protocol, TypeVar, runtime_checkable

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
    replica: str = ""  # the server it is on (host:port), where the store knows it (Redis)


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


@runtime_checkable
class ReplicaStore(Protocol):
    """What a store shared by several servers (replicas) also knows: each replica's sessions and cap."""

    draining: bool  # this replica stops taking sessions (SIGTERM); told to the others with its next heartbeat

    def here(self) -> int: ...  # sessions open on this replica (every worker of this server)
    def seats_elsewhere(self) -> int: ...  # free seats on the other live replicas that take sessions
    def replicas(self) -> list[dict[str, Any]]: ...  # each live replica: replica, sessions, max_sessions, draining


def worker_id() -> str:
    """This worker process, as the room names it: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Store:
    """The server's handle on its RoomStore: calls run on one thread of their own; failures are counted, logged
    once, and raised as StoreDown so the caller can go on without the room."""

    def __init__(self, backend: RoomStore, replica: str = "", max_sessions: int = 0,
                 backoff: tuple[float, float] | None = None) -> None:
        self.backend = backend
        self.kind = backend.kind
        self.worker = worker_id()
        self.pid = os.getpid()
        self.replica = replica or socket.gethostname()  # this server, as the room names it (host:port)
        self.max_sessions = max_sessions  # this replica's cap (MAX_SESSIONS)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="room-store")
        self.ok = True
        self.since: float | None = None  # wall time the store stopped answering (None: it answers)
        self.draining = False
        # (first, longest) seconds between tries while the store is down; None: every call tries (embedded)
        self.backoff = backoff
        self.wait = 0.0  # the current wait between tries
        self.retry_at = 0.0  # monotonic time of the next try; calls before it fail at once
        self.why = ""

    def _waiting(self) -> bool:
        return self.backoff is not None and not self.ok and time.monotonic() < self.retry_at

    async def call(self, method: str, *args: Any) -> Any:
        if self._waiting():  # down: fail at once, the next try is on the back-off schedule
            raise StoreDown(self.why)
        fn = getattr(self.backend, method)
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._attempt, fn, args)

    def _attempt(self, fn: Any, args: tuple[Any, ...]) -> Any:
        """One call on the store's thread (calls queued behind a failed one fail at once too)."""
        if self._waiting():
            raise StoreDown(self.why)
        try:
            result = fn(*args)
        except ValueError:
            raise  # a refusal in words (a bad host action): the store itself is fine
        except Exception as err:  # noqa: BLE001 - the store is down or broken: the room waits, sessions go on
            if self.ok:
                log.warning("the room store stopped answering: %s", err)
                self.ok, self.since = False, time.time()
            if self.backoff is not None:
                first, longest = self.backoff
                self.wait = min(longest, self.wait * 2 if self.wait else first)
                self.retry_at = time.monotonic() + self.wait
            self.why = str(err)
            raise StoreDown(self.why) from err
        if not self.ok:
            log.warning("the room store answers again (down since %s)", time.strftime("%H:%M:%S",
                                                                                  time.localtime(self.since)))
        self.ok, self.since, self.wait = True, None, 0.0
        return result

    # ---- the room's replicas: a shared store knows them; the embedded one is this server alone ----------------
    def drain(self) -> None:
        """This replica takes no more sessions (SIGTERM): /readyz says so, and the other replicas learn it."""
        self.draining = True
        if isinstance(self.backend, ReplicaStore):
            self.backend.draining = True

    async def here(self) -> int:
        """Sessions open on this replica (this server, every worker)."""
        return int(await self.call("here" if isinstance(self.backend, ReplicaStore) else "count"))

    async def seats_elsewhere(self) -> int:
        """Free seats on the room's other replicas (0 where the store knows no other)."""
        if not isinstance(self.backend, ReplicaStore):
            return 0
        return int(await self.call("seats_elsewhere"))

    async def replicas(self) -> list[dict[str, Any]]:
        """Each live replica of the room: replica, sessions, max_sessions, draining."""
        if isinstance(self.backend, ReplicaStore):
            return list(await self.call("replicas"))
        return [{"replica": self.replica, "sessions": await self.here(), "max_sessions": self.max_sessions,
                 "draining": self.draining}]

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
