"""Server settings from the environment: one home for host, port, workers, device and the room's limits.

Each field says its environment variable and its allowed range once; `from_env` reads and checks them,
and flags given on the command line (`python -m app serve --port ...`) are checked by the same rule.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..engine.config import CHOICES, MAX_FPS

CODES = ("ACCESS_CODE", "HOST_CODE")  # read as they are: an empty value means no code
HOST_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _env(name: str, lo: int | None = None, hi: int | None = None, choices: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"env": name, "lo": lo, "hi": hi, "choices": choices}


@dataclass(frozen=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata=_env("HOST"))
    port: int = field(default=8000, metadata=_env("PORT", 1, 65535))
    # uvicorn worker processes; 0 means one per CPU (the default)
    workers: int = field(default=0, metadata=_env("WORKERS", 0, 256))
    device: str = field(default="auto", metadata=_env("DEVICE", choices=CHOICES["device"]))
    # open sessions across all workers; newcomers beyond it are told to wait
    max_sessions: int = field(default=60, metadata=_env("MAX_SESSIONS", 1, 10_000))
    fps_cap: int = field(default=30, metadata=_env("FPS_CAP", 1, MAX_FPS))  # frames per second per session
    # per-session training rate cap, so nobody starves the others
    max_steps_per_second: int = field(default=2_000, metadata=_env("MAX_STEPS_PER_SECOND", 1, 1_000_000))
    # seconds without client activity before a session is closed
    idle_timeout: float = field(default=900.0, metadata=_env("IDLE_TIMEOUT", 1, 86_400))
    # the largest network file /diagnose reads, in MB (10⁶ bytes): its upload and its arrays unpacked
    diagnose_max_mb: int = field(default=200, metadata=_env("DIAGNOSE_MAX_MB", 1, 100_000))
    # when set, the page and the WebSocket need it (?token=… sets a cookie)
    access_code: str = field(default="", metadata=_env("ACCESS_CODE"))
    # when set, the room page /host and /api/room need it (?code=… sets a cookie); unset: this machine only
    host_code: str = field(default="", metadata=_env("HOST_CODE"))
    # threads per worker process that run training ticks, first come first served: one, so ticks do not
    # fight each other (and the event loop) for the GIL; parallelism comes from processes
    compute_threads: int = field(default=1, metadata=_env("COMPUTE_THREADS", 1, 64))
    # 1: the compute loop trains the sessions whose models have the same shape as one bank; 0: each alone
    # (today's cost, through the same code: the A/B switch for bench.load --compare)
    batch_sessions: int = field(default=1, metadata=_env("BATCH_SESSIONS", 0, 1))
    # the room's network budget in Mbit/s for all the frames the server sends, shared evenly by the attendees;
    # 0 (unset): no cap, each page's acknowledgements pace its frames (docs/protocol.md, flow control)
    room_mbps: float = field(default=0.0, metadata=_env("ROOM_MBPS", 0, 100_000))
    # where the room's state lives (sessions, the lesson's step, answers, results): an embedded database that
    # every worker shares and a restart keeps; empty: $XDG_STATE_HOME (or ~/.local/state)/label-smoothing-explorer
    state_dir: str = field(default="", metadata=_env("STATE_DIR"))
    # the address attendees use, e.g. http://192.168.1.20:8000 (the room page shows its link and QR code); the host
    # may also type it on /host. Needed where the server cannot see it: inside Docker, behind a proxy
    public_url: str = field(default="", metadata=_env("PUBLIC_URL"))
    # a folder of lesson files of one's own (TOML, docs/lessons.md), offered beside the lessons that ship
    lessons_dir: str = field(default="", metadata=_env("LESSONS_DIR"))
    # the room's state in Redis instead of STATE_DIR, so that every replica on every machine is one room:
    # redis://HOST:6379/0, rediss:// for TLS, redis://:PASSWORD@HOST:6379/0 (docs/deploy.md); empty: embedded
    redis_url: str = field(default="", metadata=_env("REDIS_URL"))
    # seconds a replica told to stop (SIGTERM) keeps serving its attendees, taking no one new, before it closes
    # their sessions (1001): time for the proxy to send newcomers elsewhere. Only where the room has another
    # replica to go to (REDIS_URL); a server alone closes at once
    drain_seconds: float = field(default=20.0, metadata=_env("DRAIN_SECONDS", 0, 3600))
    torch_threads: int = 1  # tiny models are overhead-bound: one thread per worker
    warm_up: bool = False  # the real server trains a throwaway session at start, so the first visitor waits less

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check(f, getattr(self, f.name), f.metadata.get("env", f.name))
        if self.host_code and not HOST_CODE_CHARS.issuperset(self.host_code):
            raise ValueError("HOST_CODE may hold only letters, digits and - . _ ~ (it goes in a link), "
                             f"got {self.host_code!r}")
        if self.public_url:
            check_public_url(self.public_url, "PUBLIC_URL")
        if self.redis_url:
            check_redis_url(self.redis_url, "REDIS_URL")
        if self.host_code and self.host_code == self.access_code:
            raise ValueError("HOST_CODE must differ from ACCESS_CODE: every attendee knows the access code")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment; command-line `overrides` (not None) win, checked by the same rules
        and named as flags in errors (--port), as the environment's are named by their variable (PORT)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env")
            raw = os.environ.get(name, "") if name else ""
            if name and (raw.strip() or name in CODES):
                values[f.name] = _check(f, _parse(name, raw, f.default), name)
            if overrides.get(f.name) is not None:
                values[f.name] = _check(f, overrides[f.name], "--" + f.name.replace("_", "-"))
        return cls(**values)

    def resolved_state_dir(self) -> str:
        """STATE_DIR, or the per-user state folder when it is not set."""
        if self.state_dir:
            return self.state_dir
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        return os.path.join(base, "label-smoothing-explorer")

    def resolved_workers(self) -> int:
        """Worker processes: WORKERS, or one per CPU this process may run on (respects a cpuset limit)."""
        return self.workers or len(os.sched_getaffinity(0)) or 1


def check_public_url(url: str, label: str) -> str:
    """An address attendees can open: http(s)://host[:port][/path], no query or fragment; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment or len(url) > 200 \
            or any(ch.isspace() for ch in url):
        raise ValueError(f"{label} must be the address attendees open, such as http://192.168.1.20:8000, got {url!r}")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValueError(f"{label} has a port that is not a number: {url!r}") from None
    return url.rstrip("/")


def check_redis_url(url: str, label: str) -> str:
    """redis://HOST[:PORT][/DB] or rediss:// (TLS), with USER:PASSWORD@ or :PASSWORD@ if need be; ValueError in
    words otherwise (the password never repeated)."""
    parts = urlsplit(url)
    shown = url if parts.password is None else url.replace(parts.password, "***", 1)
    hint = (f"{label} must be the room's Redis, such as redis://HOST:6379/0 (rediss:// for TLS, "
            f"redis://:PASSWORD@HOST:6379/0 with a password), got {shown!r}")
    if parts.scheme not in ("redis", "rediss") or not parts.hostname or parts.fragment or len(url) > 500 \
            or any(ch.isspace() for ch in url):
        raise ValueError(hint)
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValueError(hint) from None
    db = parts.path.strip("/")
    if db and not (db.isdigit() and int(db) < 10_000):
        raise ValueError(f"{label}'s database must be a number, such as /0, got {shown!r}")
    return url


def _check(f: dataclasses.Field[Any], value: Any, label: str) -> Any:
    meta = f.metadata
    if meta.get("choices") and value not in meta["choices"]:
        allowed = ", ".join(meta["choices"][:-1]) + " or " + meta["choices"][-1]
        raise ValueError(f"{label} must be {allowed}, got {value!r}")
    if meta.get("lo") is not None and not meta["lo"] <= value <= meta["hi"]:
        raise ValueError(f"{label} must be between {meta['lo']} and {meta['hi']}, got {value:g}")
    return value


def _parse(name: str, raw: str, default: Any) -> Any:
    """An environment variable's text as the field's type (the codes are taken as they are, spaces included)."""
    if isinstance(default, str):
        return raw if name in CODES else raw.strip()
    try:
        if isinstance(default, float):
            value = float(raw.strip())
            if not math.isfinite(value):
                raise ValueError
            return value
        return int(raw.strip())
    except ValueError:
        kind = "a number" if isinstance(default, float) else "a whole number"
        raise ValueError(f"{name} must be {kind}, got {raw.strip()!r}") from None
