"""What a workshop host relies on: idle reaping, the per-session training rate cap, the session cap across
worker processes (with its message), /healthz, and the access code. Real servers (`python -m app serve`,
settings from the environment as in the container) except for the rate cap, which uses the TestClient.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets

from app.protocol.client import ExplorerClient
from tests.support.server import ServerProcess, await_for, wait_for

TIMEOUT = 30.0  # seconds for one server message; the machine may be busy
FULL = "The explorer is full (3/3). Try again in a minute."


async def closed_with(url: str, **kwargs: Any) -> tuple[int, str]:
    """Open a session that the server is expected to refuse: (close code, reason)."""
    with pytest.raises(websockets.ConnectionClosed) as info:
        async with ExplorerClient(url, open_timeout=TIMEOUT, **kwargs):
            pass
    assert info.value.rcvd is not None, "the server did not send a close frame"
    return info.value.rcvd.code, info.value.rcvd.reason


# ---- idle sessions ---------------------------------------------------------------------------------------

def test_idle_session_is_closed_and_a_pinging_one_stays(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(IDLE_TIMEOUT="1")

    async def idle(c: ExplorerClient) -> tuple[int, str, float]:
        t0 = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:  # the client sends nothing; whatever the server sends is read and dropped
                await asyncio.wait_for(c.ws.recv(), TIMEOUT)
        assert info.value.rcvd is not None
        return info.value.rcvd.code, info.value.rcvd.reason, time.monotonic() - t0

    async def pinging(c: ExplorerClient, pongs: int) -> int:
        for _ in range(pongs):
            await c.send({"type": "ping"})
            await c.next_text("pong", TIMEOUT)
            await asyncio.sleep(0.3)
        return pongs

    async def send_pings(c: ExplorerClient) -> None:  # only sends: the test's own reads see the pongs
        while True:
            await c.send({"type": "ping"})
            await asyncio.sleep(0.3)

    async def main() -> None:
        async with ExplorerClient(server.ws, open_timeout=TIMEOUT) as quiet, \
                ExplorerClient(server.ws, open_timeout=TIMEOUT) as busy:
            assert server.healthz()["sessions"] == 2
            (code, reason, after), pongs = await asyncio.gather(idle(quiet), pinging(busy, 14))
            print(f"\nidle session closed {after:.1f} s after its last activity (IDLE_TIMEOUT=1)")
            assert code == 4000 and "without activity" in reason, (code, reason)
            assert pongs == 14  # about four idle timeouts of pinging: the pinging session is never reaped
            # four idle timeouts later the pinging session is still open and still works (it keeps
            # pinging meanwhile: a busy machine must not make it look idle)
            keepalive = asyncio.create_task(send_pings(busy))
            try:
                await busy.step(3)
                frame = await busy.next_frame(TIMEOUT)
                while frame["step"] < 3:
                    frame = await busy.next_frame(TIMEOUT)
                await await_for(lambda: asyncio.to_thread(lambda: server.healthz()["sessions"] == 1), 10,
                                "/healthz counting only the pinging session")
            finally:
                keepalive.cancel()
                await asyncio.gather(keepalive, return_exceptions=True)
        await await_for(lambda: asyncio.to_thread(lambda: server.healthz()["sessions"] == 0), 10,
                        "/healthz back to 0 sessions")

    asyncio.run(main())


# ---- per-session training rate cap -----------------------------------------------------------------------

def test_training_rate_is_capped_per_session(make_client: Callable[..., Any], open_ws: Callable[..., Any]) -> None:
    """MAX_STEPS_PER_SECOND=60 at 30 frames/s: every tick period trains cap // fps = 2 steps however high the speed
    (a late tick trains for the periods it stands for, at most two: app/server/loop.py), and tick periods come once
    per 1/fps, so a session trains at most ~60 steps/s."""
    cap, fps = 60, 30
    per_tick = cap // fps
    client = make_client(max_steps_per_second=cap)
    with open_ws(client) as ws:
        ws.send({"type": "set", "speed": 1000, "fps": fps})  # asks for 30,000 steps/s
        ws.send({"type": "play"})
        state = ws.next_text("state")
        while not (state["playing"] and state["speed"] == 1000):
            state = ws.next_text("state")
        frames = [ws.next_frame() for _ in range(40)]
    steps = [int(f["step"]) for f in frames]
    (ta, sa), (tb, sb) = (frames[0]["received_at"], steps[0]), (frames[-1]["received_at"], steps[-1])
    print(f"\nrate cap {cap}: {(sb - sa) / max(tb - ta, 1e-9):.0f} steps/s seen by the client, "
          f"{max(f['steps_per_s'] for f in frames[20:])} reported by the server")
    assert sb > sa, "training did not advance"
    # whole tick periods of `per_tick` steps, never the speed's 1,000: a frame shows a tick or a few (frames wait
    # for the page and, on a busy machine, for their ration; training does not)
    assert all(step % per_tick == 0 for step in steps), steps
    advances = [b - a for a, b in zip(steps, steps[1:], strict=False)]
    assert 0 < max(advances) <= 20 * per_tick and statistics.median(advances) <= 4 * per_tick, advances


# ---- session cap across workers --------------------------------------------------------------------------

def worker_pids(server: ServerProcess) -> set[int]:
    return set(server.session_pids())


def test_session_cap_holds_across_workers(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(workers=2, MAX_SESSIONS="3")

    async def open_client() -> ExplorerClient:
        c = ExplorerClient(server.ws, open_timeout=TIMEOUT)
        return await c.__aenter__()

    async def main() -> None:
        clients = [await open_client() for _ in range(3)]
        try:
            # The cap is only a cross-worker cap if the sessions sit in both workers: reconnect (each
            # connection is accepted by whichever worker is free) until they do.
            for _ in range(40):
                if len(worker_pids(server)) == 2:
                    break
                await clients.pop(0).__aexit__(None, None, None)
                await await_for(lambda: asyncio.to_thread(lambda: len(server.session_pids()) == 2), 10,
                                "the closed session leaving the registry")
                clients.append(await open_client())
            assert len(worker_pids(server)) == 2, f"all sessions stayed in one worker: {server.session_pids()}"

            # every worker answers /healthz with the server-wide count
            for _ in range(8):
                health = await asyncio.to_thread(server.healthz)
                assert (health["status"], health["sessions"], health["max_sessions"]) == ("ok", 3, 3), health

            for _ in range(3):  # newcomers, whichever worker takes them
                assert await closed_with(server.ws) == (1013, FULL)

            await clients.pop().__aexit__(None, None, None)

            async def newcomer() -> ExplorerClient | None:
                try:
                    return await open_client()
                except websockets.ConnectionClosed as err:  # the leaver's slot may not be free yet
                    assert err.rcvd is not None and err.rcvd.code == 1013
                    return None

            clients.append(await await_for(newcomer, 15, "a newcomer getting in after one left", 0.3))
            await clients[-1].play()
            frame = await clients[-1].next_frame(TIMEOUT)
            assert frame["type"] == "frame"
            assert server.healthz()["sessions"] == 3
        finally:
            for c in clients:
                await c.__aexit__(None, None, None)
        await await_for(lambda: asyncio.to_thread(lambda: server.healthz()["sessions"] == 0), 10,
                        "/healthz back to 0 sessions")

    asyncio.run(main())


# ---- access code -----------------------------------------------------------------------------------------

CODE = "workshop-7f3a"


def test_access_code_guards_page_and_websocket(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(ACCESS_CODE=CODE)
    with httpx.Client(base_url=server.http, follow_redirects=False, timeout=10) as http:
        page = http.get("/")
        assert page.status_code == 401 and "needs an access code" in page.text
        assert http.get("/", params={"token": "workshop-0000"}).status_code == 401  # wrong, same length
        assert http.get("/healthz").status_code == 200  # the container healthcheck needs no code

        link = http.get("/", params={"token": CODE, "dataset": "wine"})
        assert link.status_code == 303
        assert link.headers["location"] == "/?dataset=wine"  # the code leaves the address bar
        cookie = link.headers["set-cookie"]
        assert cookie.startswith(f"lse_token={CODE};") and "httponly" in cookie.lower()
        assert "samesite=strict" in cookie.lower()
        http.cookies.clear()  # the client kept the cookie: send it by hand, then a wrong one
        assert http.get("/", headers={"Cookie": f"lse_token={CODE}"}).status_code == 200
        assert http.get("/", headers={"Cookie": "lse_token=nope"}).status_code == 401

    async def main() -> None:
        for token in (None, "workshop-0000", ""):
            code, reason = await closed_with(server.ws, token=token)
            assert code == 1008 and "access code" in reason
        async with ExplorerClient(server.ws, token=CODE, open_timeout=TIMEOUT) as c:  # the ?token= link
            await c.play()
            frame = await c.next_frame(TIMEOUT)
            assert frame["type"] == "frame"
        # the page's way: the cookie set by the link, on a same-origin socket
        origin = f"http://127.0.0.1:{server.port}"
        async with websockets.connect(server.ws, open_timeout=TIMEOUT, additional_headers={
                "Cookie": f"lse_token={CODE}", "Origin": origin}) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            assert hello["type"] == "hello"

    asyncio.run(main())
    wait_for(lambda: server.healthz()["sessions"] == 0, 10, "/healthz back to 0 sessions")
