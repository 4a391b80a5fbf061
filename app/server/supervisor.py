"""`python -m app serve`: uvicorn with workers = CPU count in production, settings from the environment."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..engine.bank import resolve_device
from ..engine.config import MAX_DATASET_MESSAGE_BYTES
from ..lessons import LessonError
from ..lessons import load as load_lessons
from .join import ALL, attendee_urls, is_loopback_name
from .settings import Settings
from .sqlite_store import SqliteStore

REDIS_START_WAIT = 5.0  # seconds the start waits for REDIS_URL to answer (compose may start Redis at the same time)


class ServeError(Exception):
    """A setting or a port that stops the server from starting: one line for the user, exit status 2."""


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        settings = Settings.from_env(host=args.host, port=args.port, workers=args.workers, device=args.device,
                                     batch_sessions=0 if getattr(args, "no_batch", False) else None)
        resolve_device(settings.device)  # asking for CUDA without one is an error now, not in every worker
    except ValueError as err:
        raise ServeError(str(err)) from None
    workers = settings.resolved_workers()
    # worker processes rebuild the settings from the environment: pass every flag through it
    state_dir = settings.resolved_state_dir()
    os.environ.update(HOST=settings.host, PORT=str(settings.port), WORKERS=str(workers), DEVICE=settings.device,
                      BATCH_SESSIONS=str(settings.batch_sessions), STATE_DIR=state_dir)
    try:
        extra = Path(settings.lessons_dir) if settings.lessons_dir else None
        if extra is not None and not extra.is_dir():
            raise LessonError(str(extra), None, "", "LESSONS_DIR is not a folder")
        load_lessons(extra=extra)  # a bad lesson file stops the start here, with the file, step and field named
    except LessonError as err:
        raise ServeError(str(err)) from None
    if settings.redis_url:
        check_redis(settings)
    else:
        try:
            SqliteStore(state_dir, settings.max_sessions).close()  # the room's state can be kept there
        except (OSError, sqlite3.Error) as err:
            raise ServeError(f"STATE_DIR {state_dir}: the room's state cannot be kept there ({err})") from None
    try:
        _probe(settings.host, settings.port)
    except OSError as err:
        raise ServeError(f"cannot listen on {settings.host}:{settings.port}: {err.strerror}") from None
    print(f"Label Smoothing Explorer on http://{settings.host}:{settings.port} "
          f"({workers} worker{'s' if workers > 1 else ''}, device {settings.device})", flush=True)
    print("\n".join(welcome(settings)), flush=True)
    if workers == 1:
        _run_worker(settings.host, settings.port, reuse_port=False)
    elif sys.platform == "linux":
        _supervise(settings.host, settings.port, workers)
    else:  # no kernel load balancing across sockets: uvicorn's shared-socket workers
        uvicorn.run(APP, factory=True, host=settings.host, port=settings.port, workers=workers, **UVICORN)
    return 0


def check_redis(settings: Settings) -> None:
    """REDIS_URL at start: a Redis that refuses the password stops the server (one line); one that does not
    answer yet is said once, and the server starts all the same (sessions work; the room waits for it)."""
    from .redis_store import wait_for_redis

    where = urlsplit(settings.redis_url)
    shown = f"{where.scheme}://{where.hostname}:{where.port or 6379}{where.path}"
    problem = wait_for_redis(settings.redis_url, REDIS_START_WAIT)
    if problem is None:
        return
    why, for_good = problem
    if for_good:
        raise ServeError(f"REDIS_URL {shown}: {why}")
    print(f"room store: Redis at {shown} does not answer yet ({why}); sessions work, and the room "
          "(lesson, answers, /host's numbers) waits for it", file=sys.stderr, flush=True)


def welcome(settings: Settings) -> list[str]:
    """What a host needs at start: the attendee link(s) and the room page's address."""
    urls, notes = attendee_urls(settings)
    lines = [f"  attendees: {url}" for url in urls] or [f"  attendees: {note}" for note in notes]
    code = f"?code={settings.host_code}" if settings.host_code else ""
    if settings.host in ALL or is_loopback_name(settings.host):
        where = "127.0.0.1" if settings.host in ALL else settings.host.strip("[]")
        where = f"[{where}]" if ":" in where else where
        lines.append(f"  host page: http://{where}:{settings.port}/host{code}"
                     + ("" if code else "   (this machine's browser only; set HOST_CODE to open it elsewhere)"))
    elif code:
        lines.append(f"  host page: http://{settings.host}:{settings.port}/host{code}")
    else:
        lines.append(f"  host page: set HOST_CODE to open http://{settings.host}:{settings.port}/host "
                     "(it listens on no loopback address)")
    return lines


APP = "app.server.app:create_app_from_env"
UVICORN: dict[str, object] = dict(
    ws_max_size=MAX_DATASET_MESSAGE_BYTES + 1024,  # a CSV file's dataset message; other controls: 64 KB (upload.py)
    ws_per_message_deflate=False,  # frames are float32 arrays: deflate costs CPU per frame for little gain
    timeout_graceful_shutdown=3,
    log_level="warning",
)


def _socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _probe(host: str, port: int) -> None:
    """Fail early, with the OS's words, when the port is taken (SO_REUSEPORT alone would share it)."""
    _socket(host, port, reuse_port=False).close()


def _run_worker(host: str, port: int, reuse_port: bool) -> None:
    """One worker process: its own listening socket, one uvicorn server, one event loop."""
    import uvicorn

    sock = _socket(host, port, reuse_port)
    uvicorn.Server(uvicorn.Config(APP, factory=True, **UVICORN)).run(sockets=[sock])  # type: ignore[arg-type]


def _supervise(host: str, port: int, workers: int) -> None:
    """N worker processes, each with its own SO_REUSEPORT socket, so the kernel spreads new
    connections evenly over them (with one shared socket, a busy worker's loop wins most accepts:
    measured 27/13 sessions over 2 workers). Signals are passed on; a worker that dies is restarted."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_run_worker, args=(host, port, True), daemon=False) for _ in range(workers)]
    stopping = False

    def stop(sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive() and p.pid:
                os.kill(p.pid, sig)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    for p in procs:
        p.start()
    while True:
        for i, p in enumerate(procs):
            p.join(timeout=0.2)
            if not p.is_alive() and not stopping:
                print(f"worker {p.pid} exited ({p.exitcode}); starting another", file=sys.stderr, flush=True)
                procs[i] = ctx.Process(target=_run_worker, args=(host, port, True), daemon=False)
                procs[i].start()
        if stopping and not any(p.is_alive() for p in procs):
            return
