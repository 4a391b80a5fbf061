"""What happens when clients leave, stall or vanish, and when the server is told to stop (SIGTERM): sessions
and their training threads are freed, the others carry on, every session is closed with a reason. Against
real servers: `python -m app serve` (tests/support/server.py) and one in a thread (tests/support/inprocess.py).

The 1,000-cycle soak and the long stalled-reader run are in tests/soak (`make soak`); how soon a session is
freed and how soon the server exits are timed by bench/lifecycle.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from app.server.settings import Settings
from tests.support import wire
from tests.support.inprocess import ThreadServer
from tests.support.server import REPO, ServerProcess, wait_until

FREED = 30.0  # seconds to wait for a session and its training thread to be freed (it takes well under one)


# ---- disconnects -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proc_server() -> Iterator[ServerProcess]:
    with ServerProcess(workers=1, env={"MAX_SESSIONS": "200"}) as srv:
        yield srv


@pytest.mark.parametrize("how", wire.ENDINGS)
def test_a_leaving_client_frees_its_session_and_thread(proc_server: ServerProcess, how: str) -> None:
    assert wait_until(lambda: wire.freed(proc_server), 10)
    asyncio.run(wire.leave(proc_server.ws, how))
    t0 = time.monotonic()
    assert wait_until(lambda: wire.freed(proc_server), FREED, 0.02), proc_server.healthz()
    print(f"{how}: freed in {time.monotonic() - t0:.2f} s")


def test_a_killed_client_process_frees_its_session(proc_server: ServerProcess) -> None:
    script = ("import asyncio, sys\nfrom app.protocol.client import ExplorerClient\n"
              "async def main():\n"
              f"    async with ExplorerClient({proc_server.ws!r}) as c:\n"
              "        await c.play(); await c.next_frame(20); print('playing', flush=True); await asyncio.sleep(60)\n"
              "asyncio.run(main())\n")
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"playing"
        assert proc_server.healthz()["sessions"] == 1
        child.kill()
        child.wait(10)
        t0 = time.monotonic()
        assert wait_until(lambda: wire.freed(proc_server), FREED, 0.02), proc_server.healthz()
        print(f"killed client: freed in {time.monotonic() - t0:.2f} s")
    finally:
        child.kill()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


def test_a_reader_that_stops_reading_neither_grows_memory_nor_holds_up_the_others(
        proc_server: ServerProcess) -> None:
    """Its session trains on at its own speed (training never waits for the network), another client beside it gets
    its frames, and memory stays flat: frames wait for acknowledgements it never sends (frame rates are printed;
    bench/lifecycle.py compares them)."""
    fig = wire.stalled_reader_run(proc_server, readers=2, frames=60)
    print(f"stalled reader: {fig}")
    assert fig["rss_after_mb"] - fig["rss_before_mb"] < 50, fig
    assert fig["stalled_sessions_early"] == 2, fig  # held, not dropped: well within GIVE_UP_AFTER


def test_a_client_that_takes_nothing_is_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client whose socket accepts nothing (a dead link, a sleeping laptop) loses its session once a send has hung
    for GIVE_UP_AFTER seconds (40 in production, 2 here); the others carry on."""
    import app.server.connection

    monkeypatch.setattr(app.server.connection, "GIVE_UP_AFTER", 2.0)
    with ThreadServer(Settings(device="cpu")) as srv:
        sock = wire.stalled_reader(srv.port, display_points=3_000)  # big frames: its buffers fill in seconds
        try:
            assert wait_until(lambda: srv.healthz()["sessions"] == 1, 10)
            assert wait_until(lambda: wire.freed(srv), 60, 0.2), srv.healthz()

            wire.alive(srv.ws)  # the others carry on
        finally:
            sock.close()
        assert not srv.log.records, srv.log.messages()


# ---- graceful shutdown -----------------------------------------------------------------------------
SHUTDOWN = (1001, "the server is shutting down; the page will reconnect")


async def close_of(ws: Any, timeout: float = 10.0) -> tuple[int, str]:
    """Read until the server closes; the close code and reason it sent."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
    rcvd = ws.protocol.close_rcvd
    return (-1, "no close frame") if rcvd is None else (rcvd.code, rcvd.reason)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_closes_every_session_with_a_reason_and_exits(workers: int) -> None:
    with ServerProcess(workers=workers) as srv:
        assert srv.proc is not None
        proc = srv.proc

        async def go() -> tuple[float, list[tuple[int, str]]]:
            async with contextlib.AsyncExitStack() as stack:
                clients = [await stack.enter_async_context(wire.session(srv.ws)) for _ in range(4)]
                for ws, control in zip(clients, ['{"type": "play"}', '{"type": "step", "n": 1000}',
                                                 '{"type": "play"}', '{"type": "ping"}'], strict=True):
                    await ws.send(control)  # playing, mid-way through a big step, idle
                await asyncio.sleep(0.5)
                proc.send_signal(signal.SIGTERM)
                t0 = time.monotonic()
                return t0, list(await asyncio.gather(*(close_of(ws) for ws in clients)))

        t0, got = asyncio.run(go())
        proc.wait(srv.stop_timeout)  # it exits by itself (uvicorn's graceful timeout is 3 s), or this fails
        print(f"workers={workers}: closes {got}, exited {time.monotonic() - t0:.2f} s after SIGTERM")
        assert got == [SHUTDOWN] * 4, got
        assert proc.returncode in (0, -signal.SIGTERM), (proc.returncode, srv.output())
