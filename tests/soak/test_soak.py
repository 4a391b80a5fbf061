"""Soak: many sessions come and go, clients stall or vanish; the server ends where it started (issue 7, item 4).

Against a real `python -m app serve` process, memory measured from /proc. `make test` runs the short
variants; `make soak` (`-m slow`) runs the full ones: 1,000 connect/disconnect cycles, five stalled
readers for a minute, and a client that vanishes without a trace (freed by the WebSocket heartbeat).
Figures are printed (pytest -s) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.support import wire
from tests.support.server import ServerProcess, wait_until

MEMORY_GROWTH_MB = 50
WARMUP = 20
CONCURRENCY = 8  # sessions coming and going at once; each leaves in one of wire.ENDINGS' ways, in turn


async def cycles(url: str, n: int, start: int = 0) -> dict[str, int]:
    gate = asyncio.Semaphore(CONCURRENCY)
    counts: dict[str, int] = {}

    async def one(i: int) -> None:
        async with gate:
            ending = wire.ENDINGS[i % len(wire.ENDINGS)]  # each way of leaving in turn
            await wire.leave(url, ending)
            counts[ending] = counts.get(ending, 0) + 1

    await asyncio.gather(*(one(i) for i in range(start, start + n)))
    return counts


def connect_disconnect(n: int) -> dict[str, Any]:
    with ServerProcess(workers=1, env={"MAX_SESSIONS": "100"}) as srv:
        asyncio.run(cycles(srv.ws, WARMUP))  # first sessions load what every later one reuses
        assert wait_until(lambda: wire.freed(srv), 10), srv.healthz()
        rss0 = srv.rss_mb()
        t0 = time.monotonic()
        counts = asyncio.run(cycles(srv.ws, n, WARMUP))
        elapsed = time.monotonic() - t0
        assert wait_until(lambda: wire.freed(srv), 10), srv.healthz()
        time.sleep(1.0)
        rss1 = srv.rss_mb()
        health = srv.healthz()
        wire.alive(srv.ws)  # a session opened after all that works as the first one did
        output = srv.output()
    fig = {"cycles": n, "endings": counts, "seconds": round(elapsed, 1), "rss_before_mb": round(rss0, 1),
           "rss_after_mb": round(rss1, 1), "growth_mb": round(rss1 - rss0, 1),
           "open_sessions_after": health["sessions"], "busy_threads_after": health["busy_threads"],
           "loop_sessions_after": health["loop_sessions"]}
    print(f"\nconnect/disconnect soak: {json.dumps(fig)}")
    assert health["sessions"] == 0 and health["busy_threads"] == 0 and health["loop_sessions"] == 0, fig
    assert rss1 - rss0 < MEMORY_GROWTH_MB, fig
    assert "Traceback" not in output, output[-3000:]
    return fig


def test_100_connect_disconnect_cycles_leave_nothing_behind() -> None:
    connect_disconnect(100)


@pytest.mark.slow
def test_1000_connect_disconnect_cycles_leave_nothing_behind() -> None:
    connect_disconnect(1_000)


@pytest.mark.slow
def test_five_stalled_readers_held_past_the_give_up_time() -> None:
    """Five clients that never read, with ordinary frames (their buffers take a while to fill), held 75 s: their
    runs train on, the others get their frames (the rates are printed), memory stays flat, and once their sends
    have hung for GIVE_UP_AFTER (40 s) the stalled sessions are let go."""
    with ServerProcess(workers=1) as srv:
        fig = wire.stalled_reader_run(srv, readers=5, frames=300, display_points=300, hold=75.0)
        print(f"\nstalled readers soak: {json.dumps(fig)}")
    assert fig["rss_after_mb"] - fig["rss_before_mb"] < MEMORY_GROWTH_MB, fig
    assert fig["stalled_sessions_at_end"] == 0, fig


@pytest.mark.slow
def test_a_client_that_vanishes_silently_is_let_go() -> None:
    """No close frame, no FIN, no reset, no pong, no reads: once its socket takes nothing for GIVE_UP_AFTER (40 s)
    the session ends; the WebSocket heartbeat (uvicorn: ping every 20 s, 20 s to answer) closes the socket."""
    with ServerProcess(workers=1) as srv:
        sock = wire.stalled_reader(srv.port)  # never reads, so never answers a ping either
        try:
            assert srv.healthz()["sessions"] == 1
            t0 = time.monotonic()
            assert wait_until(lambda: wire.freed(srv), 150, 0.5), srv.healthz()
            freed_after = time.monotonic() - t0
            wire.alive(srv.ws)
        finally:
            sock.close()
        print(f"\nsilent client: session freed {freed_after:.1f} s after it stopped reading")
