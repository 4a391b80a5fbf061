"""Server settings from the environment: one home for host, port, workers, device and limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 0  # uvicorn worker processes; 0 means one per CPU (the default)
    device: str = "auto"  # auto | cpu | cuda
    max_sessions: int = 60  # open sessions across all workers; newcomers beyond it are told to wait
    fps_cap: int = 30  # frames per second per session, at most
    max_steps_per_second: int = 2_000  # per-session training rate cap, so nobody starves the others
    idle_timeout: float = 900.0  # seconds without client activity before a session is closed
    access_code: str = ""  # when set, the page and the WebSocket need it (?token=… sets a cookie)
    torch_threads: int = 1  # tiny models are overhead-bound: one thread per worker
    warm_up: bool = False  # the real server trains a throwaway session at start, so the first visitor waits less
    compute_threads: int = 1  # threads per worker process that run training ticks, first come first served:
    # one, so ticks do not fight each other (and the event loop) for the GIL; parallelism comes from processes
    state_dir: str = field(default_factory=lambda: os.environ.get("STATE_DIR", "/tmp/label-smoothing-explorer"))

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        device = os.environ.get("DEVICE", "auto").strip() or "auto"
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"DEVICE must be auto, cpu or cuda, got {device!r}")
        values: dict[str, object] = dict(
            host=os.environ.get("HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_int("PORT", 8000, 1, 65535),
            workers=_int("WORKERS", 0, 0, 256),
            device=device,
            max_sessions=_int("MAX_SESSIONS", 60, 1, 10_000),
            fps_cap=_int("FPS_CAP", 30, 1, 60),
            max_steps_per_second=_int("MAX_STEPS_PER_SECOND", 2_000, 1, 1_000_000),
            idle_timeout=float(_int("IDLE_TIMEOUT", 900, 1, 86_400)),
            access_code=os.environ.get("ACCESS_CODE", ""),
            compute_threads=_int("COMPUTE_THREADS", 1, 1, 64),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def resolved_workers(self) -> int:
        """Worker processes: WORKERS, or one per CPU this process may run on (respects a cpuset limit)."""
        return self.workers or len(os.sched_getaffinity(0)) or 1
