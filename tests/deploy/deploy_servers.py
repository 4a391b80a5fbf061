"""Real servers for the deployment tests: `python -m app serve` subprocesses on free ports.

`launch_server(dir, workers=1, **env)` starts one and waits until /healthz answers. The app's settings
come from the environment exactly as in a container (MAX_SESSIONS, ACCESS_CODE, ...); variables the
caller's shell may hold are cleared first, so each server runs with only what a test asks. `stop()`
sends SIGTERM, then SIGKILLs the server's own process group (it and its workers) if it lingers.
(A plain module, not conftest.py: tests import it as `deploy_servers`.)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # seconds for a server to answer /healthz (torch import on a busy machine)
APP_ENV = ("HOST", "PORT", "WORKERS", "DEVICE", "MAX_SESSIONS", "FPS_CAP", "MAX_STEPS_PER_SECOND",
           "IDLE_TIMEOUT", "ACCESS_CODE", "LSE_REGISTRY_DIR", "STATE_DIR")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll until `predicate()` is truthy (returns it) or fail after `timeout` seconds, naming `what`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except (OSError, ValueError) as err:
            last = err
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {last!r})")
        time.sleep(interval)


async def await_for(predicate: Callable[[], Awaitable[T]], timeout: float, what: str,
                    interval: float = 0.1) -> T:
    """wait_for for async predicates (the event loop keeps running clients meanwhile)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = await predicate()
            if value:
                return value
            last = value
        except (OSError, ValueError) as err:
            last = err
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {last!r})")
        await asyncio.sleep(interval)


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    tmpdir: Path  # the server's TMPDIR: its session registry (lse-sessions-*) is created in it
    env: dict[str, str] = field(default_factory=dict)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def healthz(self) -> dict[str, Any]:
        return get_json(self.http + "/healthz")

    def session_files(self) -> list[str]:
        """Registry entries `s-<worker pid>-<id>` of the open sessions (app/server/capacity.py)."""
        return sorted(p.name for p in self.tmpdir.glob("lse-sessions-*/s-*"))

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the server and its workers
                self.proc.wait(timeout=10)


def launch_server(base: Path, workers: int = 1, **env: str) -> Server:
    """Start `python -m app serve` on a free port (files under `base`) and wait until /healthz answers."""
    tmpdir = Path(tempfile.mkdtemp(prefix="lse-server-tmp-", dir=base))
    environ = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    environ.update(PYTHONUNBUFFERED="1", TMPDIR=str(tmpdir), DEVICE="cpu", **env)
    port = free_port()
    log = tmpdir.with_suffix(".log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=REPO, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(port, proc, log, tmpdir, env)

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}:\n{server.output()}")
        return bool(server.healthz()["status"] == "ok")

    try:
        wait_for(up, START_TIMEOUT, f"server on port {port} answering /healthz")
    except BaseException:
        server.stop()
        raise
    return server
