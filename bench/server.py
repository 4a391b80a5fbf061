"""Start the explorer's production server for a benchmark, wait for /healthz, and stop it afterwards.

`python -m app serve --port <free> --workers <CPU count>` in its own process group (so the uvicorn
workers go with it), bound to 127.0.0.1; its CPU use is read from /proc for it and every descendant.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .common import ROOT

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The explorer, served as in production (workers = CPU count unless told otherwise)."""

    def __init__(self, workers: int | None = None, max_sessions: int = 200, env: dict[str, str] | None = None,
                 startup_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.workers = workers or os.cpu_count() or 1
        self.max_sessions = max_sessions
        self.extra_env = env or {}
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def __enter__(self) -> Server:
        env = {**os.environ, "MAX_SESSIONS": str(self.max_sessions), "HOST": "127.0.0.1", **self.extra_env}
        env.pop("ACCESS_CODE", None)
        cmd = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode}: {self.log_tail()}")
            try:
                health = self.healthz()
                if health.get("status") == "ok":
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer /healthz within {self.startup_timeout:.0f} s: {self.log_tail()}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def healthz(self) -> dict[str, Any]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy for 127.0.0.1
        with opener.open(self.http + "/healthz", timeout=2) as resp:
            result: dict[str, Any] = json.loads(resp.read())
            return result

    def stop(self) -> None:
        """SIGTERM to the server's own process group (it and its workers), SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the server's pid
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def log_tail(self, n: int = 2000) -> str:
        try:
            return Path(self.log.name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc else []

    def sessions_by_worker(self) -> list[int]:
        """Open sessions per uvicorn worker, from the server's session registry (one file per session,
        named by the worker's pid; docs: app/server/capacity.py), busiest first."""
        directory = None
        for pid in self.pids():
            try:
                env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            for item in env:
                if item.startswith(b"LSE_REGISTRY_DIR="):
                    directory = item.split(b"=", 1)[1].decode()
            if directory:
                break
        if not directory or not os.path.isdir(directory):
            return []
        counts: dict[str, int] = {}
        for name in os.listdir(directory):
            if name.startswith("s-"):
                worker = name.split("-")[1]
                counts[worker] = counts.get(worker, 0) + 1
        return sorted(counts.values(), reverse=True)


def process_tree(root: int) -> list[int]:
    """root and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process, in seconds (None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


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
