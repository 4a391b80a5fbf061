"""The room's state in Redis (REDIS_URL): every replica of the explorer, on every machine, is one room (store.py
says what the room's state is; docs/architecture.md, "The room's state"). The way python-socketio's Redis manager
and Django Channels' Redis layer share a room, with Redis's own atomicity instead of files.

Keys, all under PREFIX (one Redis database is one room; give a second room another database, `/1`):

    sessions                 zset  ticket → expiry (Redis's clock)       every open session of the room
    replica:R:sessions       zset  ticket → expiry                       those on replica R (its cap)
    members                  hash  ticket → {worker, replica, browser, joined, following}
    replicas / replicas:alive  hash R → {max_sessions, draining};  zset R → expiry
    stats / stats:at         hash  worker → its numbers (JSON); zset worker → when
    lesson                   hash  name, step, paused, revealed, spread, run, version, updated
    answers:RUN:STEP         hash  browser → answer (JSON): one per browser    answered:RUN  set of STEPs answered
    results:RUN              hash  ticket → the attendee's numbers (JSON)
    kept                     hash  what the host said once (the attendee link's address)

Sessions and replicas live as long as their worker says so: each worker's numbers, put once a second, are also
its heartbeat, and re-assert every session the worker holds (so a Redis that lost them, or expired them while
it was away, has them back within a second); a replica killed outright is gone from the room after SESSION_TTL.
Expiry uses Redis's clock (TIME in the scripts), never the machines'. Admission is one Lua script: the count and
the new session in one step, so the cap holds across every worker of a replica. The lesson is a WATCH/MULTI
transaction around store.next_state. Nothing a client sends becomes a key unchecked: keys hold only the prefix,
numbers and the replica's name (host:port); browser ids and tickets are checked again here, and only ever used
as members of a hash or a set. Not for Redis Cluster (the scripts name keys from their arguments).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .redis_lua import ACQUIRE, FOLLOW, HEARTBEAT, READ, RELEASE
from .store import LessonState, Member, next_state

PREFIX = "lse:"
SESSION_TTL = 15.0  # seconds a session or a replica outlives its worker's last heartbeat
STATS_KEPT = 60.0  # seconds a worker's numbers are kept after its last word
TIMEOUT = 2.0  # seconds for a connection or a reply; then the room store counts as away (store.Store backs off)
ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")  # tickets, browser ids, workers, replicas: what the server makes
KEPT = re.compile(r"[a-z_]{1,40}")
LESSON_FIELDS = ("name", "step", "paused", "revealed", "spread", "run", "version", "updated")

def check_id(value: object, what: str) -> str:
    """A ticket, browser id, worker or replica as the server makes them; ValueError for anything else."""
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise ValueError(f"the room store refuses {what} {str(value)[:80]!r}: not an id the server makes")
    return value


def check_number(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 10**9:
        raise ValueError(f"the room store refuses {what} {str(value)[:20]!r}: not a whole number 0 to 10⁹")
    return value


def connect(url: str) -> redis.Redis:
    """A client for REDIS_URL (redis://, rediss:// for TLS, with :PASSWORD@ or USER:PASSWORD@): no retries of its
    own (the server's Store backs off), short timeouts, text replies."""
    client: redis.Redis = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
                                               retry=Retry(NoBackoff(), 0), decode_responses=True,
                                               client_name="label-smoothing-explorer")
    return client


class RedisStore:
    """RoomStore (and ReplicaStore) on Redis, for one worker of one replica. Every method runs on the caller's
    thread (the server keeps one thread for them) and raises redis's errors when Redis is away."""

    kind = "redis"

    def __init__(self, url: str, replica: str, max_sessions: int, session_ttl: float = SESSION_TTL,
                 prefix: str = PREFIX) -> None:
        self.r = connect(url)
        self.replica = check_id(replica, "the replica")
        self.max_sessions = max_sessions
        self.ttl = session_ttl
        self.p = prefix
        self.draining = False
        self.mine: dict[str, dict[str, Any]] = {}  # this worker's sessions: ticket → member (re-asserted each beat)
        self.scripts = {name: self.r.register_script(src) for name, src in (
            ("acquire", ACQUIRE), ("heartbeat", HEARTBEAT), ("release", RELEASE), ("follow", FOLLOW), ("read", READ))}

    def _run(self, script: str, *args: Any) -> Any:
        return self.scripts[script](args=[self.p, STATS_KEPT, *args])

    def ping(self) -> None:
        self.r.ping()

    # ---- sessions (the cap of each replica, across its workers) --------------------------------------------
    def acquire(self, worker: str, pid: int, browser: str) -> str | None:
        check_id(worker, "the worker")
        check_id(browser, "the browser id")
        ticket = uuid.uuid4().hex
        joined = self._run("acquire", self.ttl, self.max_sessions, self.replica, ticket, worker, browser)
        if joined is None:
            return None
        self.mine[ticket] = {"worker": worker, "replica": self.replica, "browser": browser, "joined": float(joined),
                             "following": True}
        return ticket

    def release(self, ticket: str) -> None:
        self.mine.pop(ticket, None)  # first: a store away now must not see it again with the next heartbeat
        self._run("release", check_id(ticket, "the ticket"))

    def count(self) -> int:
        return int(self._run("read", "count", ""))

    def here(self) -> int:
        return int(self._run("read", "here", self.replica))

    def members(self) -> list[Member]:
        flat = self._run("read", "members", "")
        out = []
        for ticket, raw in zip(flat[::2], flat[1::2], strict=True):
            m = json.loads(raw)
            out.append(Member(ticket, str(m["worker"]), str(m["browser"]), float(m["joined"]), bool(m["following"]),
                              str(m["replica"])))
        return sorted(out, key=lambda m: (m.joined, m.ticket))

    def follow(self, ticket: str, on: bool) -> None:
        if ticket in self.mine:
            self.mine[ticket]["following"] = bool(on)
        self._run("follow", check_id(ticket, "the ticket"), int(bool(on)))

    # ---- the room's replicas ------------------------------------------------------------------------------------
    def replicas(self) -> list[dict[str, Any]]:
        flat = self._run("read", "replicas", "")
        out = []
        for replica, raw, sessions in zip(flat[::3], flat[1::3], flat[2::3], strict=True):
            rec = json.loads(raw)
            out.append({"replica": replica, "sessions": int(sessions), "max_sessions": int(rec["max_sessions"]),
                        "draining": bool(rec["draining"])})
        return sorted(out, key=lambda r: str(r["replica"]))

    def seats_elsewhere(self) -> int:
        return sum(max(r["max_sessions"] - r["sessions"], 0) for r in self.replicas()
                   if r["replica"] != self.replica and not r["draining"])

    # ---- each worker's numbers, and its heartbeat ---------------------------------------------------------------
    def put_stats(self, worker: str, pid: int, stats: dict[str, Any]) -> None:
        check_id(worker, "the worker")
        record = json.dumps({"max_sessions": self.max_sessions, "draining": self.draining})
        pairs = [v for ticket, m in list(self.mine.items()) for v in (ticket, json.dumps(m))]
        self._run("heartbeat", self.ttl, worker, json.dumps({**stats, "replica": self.replica}), self.replica,
                  record, *pairs)

    def stats(self, fresh_for: float) -> list[dict[str, Any]]:
        return [json.loads(s) for s in self._run("read", "stats", float(fresh_for))]

    # ---- the lesson ---------------------------------------------------------------------------------------------
    def lesson(self) -> LessonState:
        return _state(self.r.hgetall(self.p + "lesson"))

    def command(self, action: str, name: str | None, step: int | None, total: int) -> LessonState:
        key = self.p + "lesson"
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    state = next_state(_state(pipe.hgetall(key)), action, name, step, total)
                    pipe.multi()
                    pipe.hset(key, mapping=cast(Any, _fields(state)))
                    pipe.execute()
                    break
                except redis.WatchError:  # another replica's command came first: read it, apply this one after
                    continue
        if action == "start":  # the last lesson's answers stay a while (as the embedded store's)
            old = state.run - 2
            steps = self.r.smembers(f"{self.p}answered:{old}") if old > 0 else set()
            self.r.delete(*[f"{self.p}answers:{old}:{_text(s)}" for s in steps], f"{self.p}answered:{old}",
                          f"{self.p}results:{state.run - 1}")
        return state

    def answer(self, run: int, step: int, browser: str, value: Any) -> None:
        run, step = check_number(run, "the run"), check_number(step, "the step")
        with self.r.pipeline() as pipe:  # MULTI: both, or neither
            pipe.hset(f"{self.p}answers:{run}:{step}", check_id(browser, "the browser id"), json.dumps(value))
            pipe.sadd(f"{self.p}answered:{run}", step)
            pipe.execute()

    def answers(self, run: int, step: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for raw in self.r.hvals(f"{self.p}answers:{check_number(run, 'the run')}:{check_number(step, 'the step')}"):
            key = _key(_text(raw))
            counts[key] = counts.get(key, 0) + 1
        return counts

    def answers_by(self, run: int, step: int) -> dict[str, Any]:
        """Each browser's answer to a step (a worker shows its attendees their own)."""
        rows = self.r.hgetall(f"{self.p}answers:{check_number(run, 'the run')}:{check_number(step, 'the step')}")
        return {_text(browser): json.loads(value) for browser, value in rows.items()}

    def put_results(self, run: int, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.r.hset(f"{self.p}results:{check_number(run, 'the run')}",
                        mapping=cast(Any, {check_id(r["ticket"], "the ticket"): json.dumps(r) for r in rows}))

    def results(self, run: int) -> list[dict[str, Any]]:
        """Each live session's latest numbers (a replica that vanished leaves none behind)."""
        rows = [json.loads(r) for r in self._run("read", "results", check_number(run, "the run"))]
        return sorted(rows, key=lambda r: str(r.get("ticket")))

    # ---- what the host said once ------------------------------------------------------------------------------
    def keep(self, key: str, value: str | None) -> None:
        if not KEPT.fullmatch(key):
            raise ValueError(f"the room store keeps no {key[:40]!r}")
        if value is None:
            self.r.hdel(self.p + "kept", key)
        else:
            self.r.hset(self.p + "kept", key, value)

    def kept(self, key: str) -> str | None:
        value = self.r.hget(self.p + "kept", key) if KEPT.fullmatch(key) else None
        return None if value is None else str(value)

    def close(self) -> None:
        """A replica that drained says so at once (the others stop counting its seats); then the connection goes."""
        try:
            if self.draining:
                self.r.zrem(self.p + "replicas:alive", self.replica)
                self.r.hdel(self.p + "replicas", self.replica)
        finally:
            self.r.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _state(raw: Mapping[Any, Any]) -> LessonState:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    if not fields:
        return LessonState()
    return LessonState(fields.get("name") or None, int(fields["step"]), fields["paused"] == "1",
                       fields["revealed"] == "1", int(fields["spread"]), int(fields["run"]), int(fields["version"]),
                       float(fields["updated"]))


def _fields(state: LessonState) -> dict[str, str]:
    """The lesson as the hash's text fields: None as "", flags as 0/1, times exactly (repr)."""
    out = {}
    for name in LESSON_FIELDS:
        v = getattr(state, name)
        out[name] = "" if v is None else str(int(v)) if isinstance(v, bool) else repr(v) if isinstance(v, float) \
            else str(v)
    return out


def _key(value: str) -> str:
    """An answer as a count's key: the choice as it is, a number as its shortest text (as the embedded store)."""
    decoded = json.loads(value)
    return decoded if isinstance(decoded, str) else f"{decoded:g}"


def wait_for_redis(url: str, seconds: float) -> tuple[str, bool] | None:
    """None once Redis at `url` answers a PING within `seconds`; else (why not in words, whether it is for good: a
    refused password is, an unreachable Redis may not be), for the server's start."""
    client = connect(url)
    end = time.monotonic() + seconds
    try:
        while True:
            try:
                client.ping()
                return None
            except redis.AuthenticationError as err:
                return f"it refused the password ({err})", True
            except redis.RedisError as err:
                if time.monotonic() >= end:
                    return str(err), False
                time.sleep(0.2)
    finally:
        client.close()
