"""How soon the server lets go: a session freed after its client leaves, SIGTERM to exit, an idle session
closed, the per-session rate cap, and another client's frame rate beside readers that stopped reading.

The tests (tests/api/test_disconnects.py, tests/deploy/test_workshop.py) check that these things happen;
this times them against the figures the project aims for: a leaving client's session freed within 2 s,
exit within 5 s of SIGTERM, an idle session (IDLE_TIMEOUT=1) closed within 10 s, at most cap × 1.15 + 5
steps/s under MAX_STEPS_PER_SECOND, and another client keeping over half its frame rate beside stalled
readers. Real servers from the tests' harness (tests/support/server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from typing import Any

import websockets

from app.protocol.client import ExplorerClient
from tests.support import wire
from tests.support.server import ServerProcess, wait_until

from .common import emit, load_note, loadavg, median, rnd


def freed_after(server: ServerProcess, repeat: int) -> dict[str, float | None]:
    """Median seconds from a client leaving to /healthz showing no session and no busy thread, per ending."""
    out: dict[str, float | None] = {}
    for ending in wire.ENDINGS:
        times = []
        for _ in range(repeat):
            assert wait_until(lambda: wire.freed(server), 30)
            asyncio.run(wire.leave(server.ws, ending))
            t0 = time.monotonic()
            if wait_until(lambda: wire.freed(server), 30, 0.01):
                times.append(time.monotonic() - t0)
        out[ending] = rnd(median(times), 3)
    return out


def sigterm_exit(workers: int) -> float:
    """Seconds from SIGTERM to exit, with four sessions open (two playing, one mid-step, one idle)."""
    with ServerProcess(workers=workers) as server:
        assert server.proc is not None
        proc = server.proc

        async def go() -> float:
            async with contextlib.AsyncExitStack() as stack:
                clients = [await stack.enter_async_context(wire.session(server.ws)) for _ in range(4)]
                for ws, control in zip(clients, ['{"type": "play"}', '{"type": "step", "n": 1000}',
                                                 '{"type": "play"}', '{"type": "ping"}'], strict=True):
                    await ws.send(control)
                await asyncio.sleep(0.5)
                proc.send_signal(signal.SIGTERM)
                t0 = time.monotonic()
                await asyncio.to_thread(proc.wait, server.stop_timeout)
                return time.monotonic() - t0

        return asyncio.run(go())


def idle_close() -> float:
    """Seconds from a session's last activity to the server closing it, with IDLE_TIMEOUT=1."""
    with ServerProcess(env={"IDLE_TIMEOUT": "1"}) as server:

        async def go() -> float:
            async with ExplorerClient(server.ws, open_timeout=30) as quiet:
                t0 = time.monotonic()
                with contextlib.suppress(websockets.ConnectionClosed):
                    while True:
                        await asyncio.wait_for(quiet.ws.recv(), 60)
                return time.monotonic() - t0

        return asyncio.run(go())


def rate_cap(cap: int = 60, seconds: float = 4.0) -> float:
    """Steps per second a session playing at speed 1000 reaches under MAX_STEPS_PER_SECOND=cap."""
    with ServerProcess(env={"MAX_STEPS_PER_SECOND": str(cap)}) as server:

        async def go() -> float:
            async with ExplorerClient(server.ws, open_timeout=30) as c:
                await c.send({"type": "set", "speed": 1000, "fps": 30})
                await c.play()
                first = await c.next_frame(30)
                frame = first
                while frame["received_at"] - first["received_at"] < seconds:
                    frame = await c.next_frame(30)
                return (frame["step"] - first["step"]) / (frame["received_at"] - first["received_at"])

        return asyncio.run(go())


def measure(repeat: int, frames: int) -> dict[str, Any]:
    load0 = loadavg()
    with ServerProcess(env={"MAX_SESSIONS": "200"}) as server:
        freed = freed_after(server, repeat)
        stall = wire.stalled_reader_run(server, readers=2, frames=frames)
    exits = {str(w): rnd(sigterm_exit(w), 2) for w in (1, 2)}
    idle, cap = rnd(idle_close(), 2), rnd(rate_cap(), 1)
    worst = max((v for v in freed.values() if v is not None), default=None)
    beside = stall["beside_fps"] / stall["solo_fps"] if stall["solo_fps"] else None
    return {
        "freed_s": freed, "sigterm_exit_s": exits, "idle_close_s": idle, "rate_cap_60_steps_per_s": cap,
        "stalled_readers": stall, "beside_over_solo_fps": rnd(beside, 2),
        "targets": {
            "freed_within_2_s": worst is not None and worst < 2.0,
            "exit_within_5_s": all(v is not None and v < 5.0 for v in exits.values()),
            "idle_closed_within_10_s": idle is not None and idle < 10.0,
            "rate_capped": cap is not None and cap <= 60 * 1.15 + 5,
            "others_keep_half_their_fps": beside is not None and beside > 0.5,
        },
        "repeat": repeat, "loadavg_start": load0, "loadavg": loadavg(),
    }


def summary(r: dict[str, Any]) -> str:
    freed = ", ".join(f"{k} {v} s" for k, v in r["freed_s"].items())
    exits = ", ".join(f"{k} worker(s) {v} s" for k, v in r["sigterm_exit_s"].items())
    met = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in r["targets"].items())
    return "\n".join([
        f"bench.lifecycle: median of {r['repeat']}; {load_note(r['loadavg'])}",
        f"session freed after the client left: {freed}",
        f"exit after SIGTERM: {exits}",
        f"idle session closed after {r['idle_close_s']} s (IDLE_TIMEOUT=1)",
        f"rate cap 60 steps/s: {r['rate_cap_60_steps_per_s']} steps/s seen",
        f"beside stalled readers: {r['stalled_readers']['beside_fps']} fps vs {r['stalled_readers']['solo_fps']} "
        f"alone ({r['beside_over_solo_fps']}×)",
        f"targets: {met}",
    ])


OPTIONS = [("--repeat", 5, "leaving clients per way of leaving"),
           ("--frames", 90, "frames the client beside stalled readers waits for")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.split("\n")[0])
    for flag, default, text in OPTIONS:
        p.add_argument(flag, type=int, default=default, help=f"{text} (default {default})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    emit(measure(max(1, args.repeat), max(1, args.frames)), args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
