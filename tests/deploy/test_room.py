"""The room page across worker processes, as a host runs it: `python -m app serve` with two workers prints the
attendee and host links, and /api/room adds up what every worker's sessions get (each worker's stats file
beside the session registry, app/server/room.py). A bad HOST_CODE stops the start with one line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from app.protocol.client import ExplorerClient
from tests.support.server import REPO, ServerProcess, await_for, get_json

TIMEOUT = 30.0
CODE = "room-7"


def test_room_adds_up_every_worker(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(workers=2, HOST_CODE=CODE)
    out = server.output()
    assert f"host page: http://127.0.0.1:{server.port}/host?code={CODE}" in out, out
    assert "attendees: The server listens on 127.0.0.1 only" in out, out
    url = f"{server.http}/api/room?code={CODE}"

    stop = asyncio.Event()

    async def drain(c: ExplorerClient) -> None:
        """Read frames, as a page does, until told to stop. Not by cancellation alone: Python 3.11's
        wait_for (inside next_frame) can swallow a cancel that meets a frame arriving."""
        while not stop.is_set():
            await c.next_frame(TIMEOUT)

    async def main() -> None:
        clients = [ExplorerClient(server.ws, open_timeout=TIMEOUT) for _ in range(4)]
        for c in clients:
            await c.__aenter__()
            await c.play()
        readers = [asyncio.create_task(drain(c)) for c in clients]
        try:
            async def counted() -> dict[str, Any] | None:
                room = await asyncio.to_thread(get_json, url)
                ok = (room["sessions"] == 4 and len(room["workers"]) == 2 and room["playing"] == 4
                      and sum(w["sessions"] for w in room["workers"]) == 4)
                return room if ok else None

            room = await await_for(counted, 30, "/api/room adding up both workers' 4 sessions", 0.3)
            by_worker = server.sessions_by_worker()  # from the registry's files: the same split
            assert sorted(w["sessions"] for w in room["workers"]) == sorted(by_worker + [0] * (2 - len(by_worker)))
            assert all(w["cpu_percent"] is not None for w in room["workers"])
            assert room["fps_min"] > 0 and room["steps_per_s_median"] > 0
            print(f"\n4 sessions over 2 workers {[w['sessions'] for w in room['workers']]}: "
                  f"{room['fps_min']}–{room['fps_median']} frames/s, CPU {[w['cpu_percent'] for w in room['workers']]}")
        finally:
            stop.set()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            for c in clients:
                await c.__aexit__(None, None, None)

        async def empty() -> dict[str, Any] | None:
            room = await asyncio.to_thread(get_json, url)
            return room if room["sessions"] == 0 and room["playing"] == 0 else None

        await await_for(empty, 15, "/api/room back to 0 sessions", 0.3)

    asyncio.run(main())


def test_a_bad_host_code_stops_the_start_in_one_line() -> None:
    env = {"HOST_CODE": "two words", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "app", "serve", "--port", "1"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["python -m app: error: HOST_CODE may hold only letters, digits and "
                                               "- . _ ~ (it goes in a link), got 'two words'"], out.stderr
