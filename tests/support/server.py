"""One harness for real servers: `python -m app serve` as a subprocess on a free port.

    with ServerProcess(workers=1, env={"MAX_SESSIONS": "3"}) as server:
        server.healthz(); server.http; server.ws; server.output()

`ServerProcess` starts the server in its own process group (so its uvicorn workers go with it), bound to
127.0.0.1, with TMPDIR pointing into a folder of its own (its room store, STATE_DIR, is `state/` there, unless
`env` names another, and the server's output goes to `server.log` beside it), and waits until /healthz answers "ok".
The app's settings come from the environment as in a container: every variable the app reads (HOST,
PORT, WORKERS, DEVICE, MAX_SESSIONS, ...) is cleared from the caller's environment first, so a server runs
with only what it is given; DEVICE is "cpu" unless told otherwise. `stop()` sends SIGTERM (as `docker stop`
does), waits, then SIGKILLs the whole group if anything lingers. Every failure message carries the end of
the server's output.

Used by the deployment, reliability, soak and browser tests (tests/deploy, tests/api, tests/soak,
tests/e2e) and by the benchmarks (bench/server.py); bench imports it as `tests.support.server`, which is why
this module imports nothing from app/ and nothing outside the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # seconds for a server to answer /healthz (torch import on a busy machine)
STOP_TIMEOUT = 20.0  # seconds a server has to exit after SIGTERM before it is killed
# Every variable the app reads (app/server/settings.py, and the registry the supervisor hands its workers).
APP_ENV = ("HOST", "PORT", "WORKERS", "DEVICE", "MAX_SESSIONS", "FPS_CAP", "MAX_STEPS_PER_SECOND",
           "IDLE_TIMEOUT", "ACCESS_CODE", "HOST_CODE", "COMPUTE_THREADS", "BATCH_SESSIONS", "ROOM_MBPS", "STATE_DIR",
           "XDG_STATE_HOME", "PUBLIC_URL", "LESSONS_DIR", "REDIS_URL", "DRAIN_SECONDS")
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
T = TypeVar("T")


# ---- small helpers ---------------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy for 127.0.0.1


def get_json(url: str, timeout: float = 10.0) -> Any:
    with _OPENER.open(url, timeout=timeout) as resp:
        return json.loads(resp.read())


class Poll:
    """One wait: a deadline and the last thing seen, for the failure message. `more()` raises once past it."""

    def __init__(self, timeout: float, what: str) -> None:
        self.timeout, self.what = timeout, what
        self.end = time.monotonic() + timeout
        self.last: Any = None
        self.tries = 0

    def more(self) -> bool:
        if self.tries and time.monotonic() > self.end:
            raise AssertionError(f"{self.what}: not within {self.timeout:g} s (last: {self.last!r})")
        self.tries += 1
        return True

    def seen(self, value: T) -> T:
        self.last = value
        return value


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll until `predicate()` is truthy and return it; fail (AssertionError naming `what`) after `timeout`
    seconds. OSError and ValueError count as "not yet" (a server still starting, half-written JSON)."""
    poll = Poll(timeout, what)
    while poll.more():
        try:
            if value := poll.seen(predicate()):
                return value
        except (OSError, ValueError) as err:
            poll.seen(err)
        time.sleep(interval)
    raise AssertionError("unreachable")


async def await_for(predicate: Callable[[], Awaitable[T]], timeout: float, what: str, interval: float = 0.1) -> T:
    """wait_for for async predicates (the event loop keeps running clients meanwhile)."""
    poll = Poll(timeout, what)
    while poll.more():
        try:
            if value := poll.seen(await predicate()):
                return value
        except (OSError, ValueError) as err:
            poll.seen(err)
        await asyncio.sleep(interval)
    raise AssertionError("unreachable")


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> bool:
    """Poll until `predicate()` is truthy; whether it became so within `timeout` seconds."""
    try:
        wait_for(predicate, timeout, "", interval)
        return True
    except AssertionError:
        return False


def stop_process(proc: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> int | None:
    """SIGTERM to `proc`, then SIGKILL to its process group (it was started with start_new_session) if it has
    not exited within `timeout` seconds, or if anything of its group is left once it has. Its exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the group id is the leader's pid
    return proc.wait(timeout=10)


# ---- processes, from /proc ---------------------------------------------------------------------------------
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


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---- the server --------------------------------------------------------------------------------------------
class Local:
    """Something listening on 127.0.0.1:port: its page and its WebSocket."""

    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


class ServerProcess(Local):
    """`python -m app serve --host 127.0.0.1 --port <free> --workers <workers>`, up once /healthz says ok.

    env: settings as environment variables (MAX_SESSIONS="3", ACCESS_CODE=...), on top of a caller's
    environment cleared of APP_ENV. device: DEVICE ("cpu" by default; None leaves it to `env` or the app).
    base: the folder for the server's TMPDIR and log (a fresh temporary folder, removed on stop, if None).
    """

    def __init__(self, *, workers: int = 1, env: Mapping[str, str] | None = None, device: str | None = "cpu",
                 base: Path | None = None, start_timeout: float = START_TIMEOUT,
                 stop_timeout: float = STOP_TIMEOUT) -> None:
        self.port = free_port()
        self.workers = workers
        self.env = dict(env or {})
        self.device = device
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self._owned = base is None
        self.tmpdir = Path(tempfile.mkdtemp(prefix="lse-server-", dir=base))
        self.log = self.tmpdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._final_output: str | None = None

    def environment(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if k not in APP_ENV}
        environ.update(PYTHONUNBUFFERED="1", TMPDIR=str(self.tmpdir), STATE_DIR=str(self.tmpdir / "state"))
        if self.device is not None:
            environ["DEVICE"] = self.device
        environ.update(self.env)
        return environ

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(self.workers)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.environment(), stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with status {self.proc.returncode}")
            return bool(self.healthz()["status"] == "ok")

        try:
            wait_for(up, self.start_timeout, f"the server on port {self.port} answering /healthz", 0.1)
        except AssertionError as err:
            self.stop()
            raise AssertionError(f"{err}; its output:\n{self.output()[-3000:]}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL for the whole group if it lingers (stop_process); the exit status. Idempotent."""
        code = stop_process(self.proc, self.stop_timeout) if self.proc is not None else None
        if self._owned and self.tmpdir.exists():
            self._final_output = self.output()
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        return code

    def output(self) -> str:
        """What the server has printed so far (stdout and stderr)."""
        if self._final_output is not None:
            return self._final_output
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def healthz(self) -> dict[str, Any]:
        return dict(get_json(self.http + "/healthz", timeout=5))

    def pids(self) -> list[int]:
        """The server process and all its descendants (the uvicorn workers)."""
        return process_tree(self.proc.pid) if self.proc is not None else []

    def session_pids(self) -> list[int]:
        """The worker pid of each open session, as the room store holds them (app/server/sqlite_store.py)."""
        path = Path(self.env.get("STATE_DIR", self.tmpdir / "state")) / "room.sqlite3"
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
            return sorted(pid for (pid,) in db.execute("SELECT pid FROM sessions") if _alive(pid))

    def sessions_by_worker(self) -> list[int]:
        """Open sessions per worker process, busiest first (from the room store)."""
        counts: dict[int, int] = {}
        for pid in self.session_pids():
            counts[pid] = counts.get(pid, 0) + 1
        return sorted(counts.values(), reverse=True)

    def rss_mb(self) -> float:
        """Resident memory of the server and its workers, MB."""
        return sum(rss_mb(pid) for pid in self.pids())

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server and its workers have used so far."""
        return sum(cpu_seconds(pid) or 0.0 for pid in self.pids())
