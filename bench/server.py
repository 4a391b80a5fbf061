"""The explorer's production server for a benchmark, and the CPU it uses.

`Server` is the tests' harness (tests/support/server.py: `python -m app serve` on a free port in its own
process group, bound to 127.0.0.1, up once /healthz answers, SIGTERM then SIGKILL on the way out) with the
benchmarks' defaults: workers = CPU count, room for the sessions a run opens, and the settings the caller's
environment gives (FPS_CAP=10 python -m bench.load ...; DEVICE too), the access code aside. Its CPU use is
read from /proc for it and every descendant.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.support.server import APP_ENV, ServerProcess, cpu_seconds, process_tree

NOT_INHERITED = ("HOST", "PORT", "WORKERS", "ACCESS_CODE", "STATE_DIR")  # the bench decides these


class Server(ServerProcess):
    """The explorer, served as in production (workers = CPU count unless told otherwise)."""

    def __init__(self, workers: int | None = None, max_sessions: int = 200, env: dict[str, str] | None = None,
                 startup_timeout: float = 60.0) -> None:
        inherited = {k: os.environ[k] for k in APP_ENV if k in os.environ and k not in NOT_INHERITED}
        super().__init__(workers=workers or os.cpu_count() or 1, device=None, start_timeout=startup_timeout,
                         env={**inherited, "MAX_SESSIONS": str(max_sessions), **(env or {})})

    def log_tail(self, n: int = 2000) -> str:
        return self.output()[-n:]


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat, to tell how busy the whole box was."""
    try:
        parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    vals = [float(v) for v in parts]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0.0)
    return sum(vals) - idle, sum(vals)


class CpuMeter:
    """CPU use of a process tree between start() and stop(), in percent of one core (200 = both of 2)."""

    def __init__(self, root: int) -> None:
        self.root = root

    def _sample(self) -> dict[int, float]:
        out = {}
        for pid in process_tree(self.root):
            s = cpu_seconds(pid)
            if s is not None:
                out[pid] = s
        return out

    def start(self) -> None:
        self.t0, self.s0, self.m0 = time.monotonic(), self._sample(), machine_busy()

    def stop(self) -> dict[str, Any]:
        t1, s1, m1 = time.monotonic(), self._sample(), machine_busy()
        wall = max(t1 - self.t0, 1e-9)
        per = {pid: (s1[pid] - self.s0.get(pid, 0.0)) / wall * 100 for pid in s1}
        busy = (m1[0] - self.m0[0]) / max(m1[1] - self.m0[1], 1e-9) * 100
        return {
            "server_cpu_percent": round(sum(per.values()), 1),
            "server_processes": len(per),
            "server_cpu_by_process": sorted((round(v, 1) for v in per.values()), reverse=True),
            "machine_cpu_busy_percent": round(busy, 1),  # all CPUs, everything on the box
        }
