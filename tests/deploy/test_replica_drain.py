"""Replicas that fill and drain, behind nginx (deploy/nginx-local.sh: the compose `scale` profile's proxy rules) with
the room in Redis. A full replica refuses the handshake with 503 and nginx tries the other, so every newcomer gets
a seat while the room has one. SIGTERM on a replica: /readyz says draining at once and newcomers go to the other;
after DRAIN_SECONDS its attendees are told (1001, with a reason) and the replica exits; they reconnect through
nginx, as the page does (same browser id, then its URL's settings sent again), land on the other replica and find
the lesson at the same step with their own answer. Skipped only where nginx or redis-server is missing and CI is
not set (`make test` installs both)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.attendees import Attendee, eventually, everyone, post
from tests.support.nginx import NGINX, NginxLocal
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, get_json

CODE = "drain"
LESSONS = str(Path(__file__).resolve().parents[1] / "cases" / "lessons_good")
DRAIN = 3.0  # DRAIN_SECONDS here (the default is 20)

if NGINX is None:
    if os.environ.get("CI"):
        pytest.fail("nginx is not installed (make test installs nginx-light)", pytrace=False)
    pytest.skip("nginx is not installed (make test installs nginx-light)", allow_module_level=True)


def start(start_server: Callable[..., ServerProcess], redis_server: RedisServer, cap: int) -> ServerProcess:
    return start_server(REDIS_URL=redis_server.url, HOST_CODE=CODE, LESSONS_DIR=LESSONS, MAX_SESSIONS=str(cap),
                        DRAIN_SECONDS=f"{DRAIN:g}")


def readyz(server: ServerProcess) -> tuple[int, str | None]:
    try:
        return 200, get_json(f"{server.http}/readyz")["reason"]
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())["reason"]


def test_nginx_sends_newcomers_past_a_full_replica(start_server: Callable[..., ServerProcess],
                                                   redis_server: RedisServer) -> None:
    full, roomy = start(start_server, redis_server, 1), start(start_server, redis_server, 10)

    async def go() -> None:
        with NginxLocal(full, roomy) as proxy:
            there = await Attendee(full.ws, "already-there").open()  # fills it, past nginx's count
            newcomers = [await Attendee(proxy.ws, f"newcomer-{i}").open() for i in range(4)]
            try:
                await eventually(lambda: all(n.states for n in newcomers), "every newcomer's hello")
                assert all(n.closed is None for n in newcomers)
                assert readyz(full) == (503, "full") and readyz(roomy)[0] == 200
                room = get_json(f"{roomy.http}/api/room?code={CODE}")
                assert {r["replica"].rsplit(":", 1)[1]: r["sessions"] for r in room["replicas"]} == {
                    str(full.port): 1, str(roomy.port): 4}
            finally:
                for a in [there, *newcomers]:
                    await a.close()
            logged = await eventually(lambda: len(proxy.upstreams()) >= 4 and proxy.upstreams(),
                                      "nginx's log of the four sessions (written as each closes)")
            assert {status for status, _ in logged.values()} == {101}
            assert all(tried[-1] == roomy.port for _, tried in logged.values())
            assert [full.port, roomy.port] in [tried for _, tried in logged.values()], proxy.logs()

    asyncio.run(go())


def test_sigterm_drains_a_replica_and_its_attendees_come_back_on_the_other_at_the_same_step(
        start_server: Callable[..., ServerProcess], redis_server: RedisServer) -> None:
    leaving, staying = start(start_server, redis_server, 20), start(start_server, redis_server, 20)

    async def go() -> None:
        with NginxLocal(leaving, staying) as proxy:
            movers = [await Attendee(leaving.ws, f"mover-{i:03d}").open() for i in range(3)]
            stayers = [await Attendee(staying.ws, f"stayer-{i:03d}").open() for i in range(2)]
            everybody = movers + stayers
            try:
                post(proxy.http, CODE, "start", lesson="three-steps")
                await everyone(everybody, "at step 1", lambda m: m.get("step") == 1)
                for i, a in enumerate(everybody):
                    await a.send({"type": "set", "eps": 0.1 + 0.1 * i})  # the page's URL settings
                    await a.send({"type": "answer", "step": 1, "value": "AB"[i % 2]})
                await everyone(everybody, "answered", lambda m: m.get("mine") is not None)
                assert leaving.proc is not None
                leaving.proc.send_signal(signal.SIGTERM)
                await eventually(lambda: readyz(leaving) == (503, "draining"), "the leaving replica not ready",
                                 blocking=True)
                late = await Attendee(proxy.ws, "late-joiner").open()  # nginx: refused by the leaving one, so
                await eventually(lambda: late.last.get("step") == 1, "the late joiner at step 1")  # the other
                told = await eventually(lambda: all(a.closed for a in movers) and [a.closed for a in movers],
                                        "the leaving replica's attendees told")
                assert told == [(1001, "this server is closing; the page reconnects to another one")] * 3
                assert all(a.closed is None for a in stayers + [late])
                for i, a in enumerate(movers):  # the page reconnects, through the proxy, then sends its settings
                    await a.open(proxy.ws)
                    await a.send({"type": "set", "eps": 0.1 + 0.1 * i})
                await everyone(movers, "back at step 1 with their own answers",
                               lambda m: m.get("step") == 1 and m.get("mine") is not None)
                assert [a.last["mine"] for a in movers] == ["A", "B", "A"]
                await eventually(lambda: all(any(s.get("eps") == pytest.approx(0.1 + 0.1 * i) for s in a.states)
                                             for i, a in enumerate(movers)), "their settings again")
                assert leaving.proc.wait(30) in (0, -signal.SIGTERM)
                def on_one_replica() -> dict[str, Any] | None:
                    room: dict[str, Any] = get_json(f"{staying.http}/api/room?code={CODE}")
                    return room if room["sessions"] == 6 and len(room["replicas"]) == 1 else None

                room = await eventually(on_one_replica, "everyone on the staying replica", blocking=True)
                assert room["replicas"][0]["sessions"] == 6 and room["lesson"]["answers"] == {"A": 3, "B": 2}
                await late.close()
            finally:
                for a in everybody:
                    await a.close()

    asyncio.run(go())
