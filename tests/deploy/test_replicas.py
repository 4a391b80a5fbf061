"""One room across two servers (two `python -m app serve`, different ports, one REDIS_URL: a real Redis): the
lesson paced from either, answers counted once per browser whichever replica took them, /api/room on each showing
everyone with the replica each is on; Redis killed mid-lesson (frames keep flowing on both, /api/room says the
store is down since when), then back (the host's "next" reaches everyone again); a full replica answering
/readyz 503 and /livez 200, and refusing a handshake with HTTP 503 while the other has seats, with 1013 once the
whole room is full."""

from __future__ import annotations

import asyncio
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.support.attendees import Attendee, eventually, everyone, post
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, get_json, wait_for

CODE = "one-room"
LESSONS = str(Path(__file__).resolve().parents[1] / "cases" / "lessons_good")
PER_REPLICA = 5
TIMEOUT = 60.0


def replicas(start_server: Callable[..., ServerProcess], redis_server: RedisServer, **env: str
             ) -> tuple[ServerProcess, ServerProcess]:
    settings = {"REDIS_URL": redis_server.url, "HOST_CODE": CODE, "LESSONS_DIR": LESSONS, "DRAIN_SECONDS": "2",
                **env}
    return start_server(**settings), start_server(**settings)


def room(server: ServerProcess) -> dict[str, Any]:
    return dict(get_json(f"{server.http}/api/room?code={CODE}"))


def rooms(servers: tuple[ServerProcess, ...], check: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]] | None:
    """Each server's /api/room, if every one passes `check`."""
    seen = [room(s) for s in servers]
    return seen if all(check(r) for r in seen) else None


def status(url: str) -> int:
    try:
        get_json(url)
        return 200
    except urllib.error.HTTPError as err:
        return err.code


def test_one_lesson_across_two_replicas_paced_from_either_with_answers_counted_once(
        start_server: Callable[..., ServerProcess], redis_server: RedisServer) -> None:
    a, b = replicas(start_server, redis_server)

    async def lesson() -> None:
        attendees = [await Attendee((a if i < PER_REPLICA else b).ws, f"attendee-{i:02d}").open()
                     for i in range(2 * PER_REPLICA)]
        try:
            seen = await eventually(lambda: rooms((a, b), lambda r: r["sessions"] == 10),
                                    "both replicas counting 10", blocking=True)
            for r in seen:  # each replica's /api/room shows the whole room, replica by replica
                assert [(x["sessions"], x["max_sessions"]) for x in r["replicas"]] == [(5, 60), (5, 60)]
                assert {x["replica"] for x in r["replicas"]} == {r_["replica"] for r_ in seen}
                assert r["max_sessions"] == 120 and r["store"] == {"kind": "redis", "ok": True, "since": None}
            assert {w["replica"] for w in seen[0]["workers"]} == {seen[0]["replica"], seen[1]["replica"]}
            assert post(a.http, CODE, "start", lesson="three-steps")["lesson"]["step"] == 1
            await everyone(attendees, "at step 1", lambda m: m.get("step") == 1)
            for i, att in enumerate(attendees):  # 6 say B, 4 say A; the first changes its mind
                if i == 0:
                    await att.send({"type": "answer", "step": 1, "value": "A"})
                await att.send({"type": "answer", "step": 1, "value": "B" if i < 6 else "A"})
            await everyone(attendees, "answered", lambda m: m.get("mine") is not None)
            moved = attendees[0]  # a browser that moves to the other replica and answers again: still once
            await moved.close()
            await moved.open(b.ws)
            await eventually(lambda: moved.last.get("mine") == "B", "its answer, back on the other replica")
            await moved.send({"type": "answer", "step": 1, "value": "B"})
            for s in (a, b):
                assert room(s)["lesson"]["answers"] == {"A": 4, "B": 6} and room(s)["lesson"]["answered"] == 10
            post(b.http, CODE, "reveal")  # paced from the other replica
            await everyone(attendees, "revealed", lambda m: m.get("revealed") is True)
            post(a.http, CODE, "next")
            await everyone(attendees, "at step 2", lambda m: m.get("step") == 2 and not m["revealed"])
            post(b.http, CODE, "goto", step=3)
            post(a.http, CODE, "spread_eps")
            await everyone(attendees, "given an ε", lambda m: m.get("step") == 3 and m.get("eps") is not None)
            assert sorted(att.last["eps"] for att in attendees) == [round(0.5 * i / 9, 3) for i in range(10)]
        finally:
            for att in attendees:
                await att.close()

    asyncio.run(lesson())


def test_redis_away_mid_lesson_sessions_keep_training_and_the_room_comes_back(
        start_server: Callable[..., ServerProcess], redis_server: RedisServer) -> None:
    a, b = replicas(start_server, redis_server)

    async def outage() -> None:
        attendees = [await Attendee((a, b)[i % 2].ws, f"attendee-{i:02d}").open() for i in range(4)]
        try:
            post(b.http, CODE, "start", lesson="three-steps")
            await everyone(attendees, "at step 1", lambda m: m.get("step") == 1)
            await attendees[0].send({"type": "answer", "step": 1, "value": "B"})
            await everyone(attendees[:1], "answered", lambda m: m.get("mine") == "B")
            for att in attendees:
                await att.send({"type": "play"})
            redis_server.kill()
            down = await eventually(lambda: rooms((a, b), lambda r: not r["store"]["ok"]),
                                    "/api/room on both saying the store is down", blocking=True)
            for r in down:
                assert r["store"]["kind"] == "redis" and isinstance(r["store"]["since"], float)
            with pytest.raises(urllib.error.HTTPError) as refused:
                post(a.http, CODE, "next")
            assert refused.value.code == 503
            before = [att.frames for att in attendees]
            await eventually(lambda: all(att.frames >= n + 20 for att, n in zip(attendees, before, strict=True)),
                             "20 more frames for every attendee, on both replicas, while Redis is away")
            assert all(att.closed is None for att in attendees)
            redis_server.start()  # the same port, and its data (append-only file)
            await eventually(lambda: rooms((a, b), lambda r: r["store"]["ok"]), "both replicas finding the store again",
                             blocking=True)
            assert post(b.http, CODE, "next")["lesson"]["step"] == 2
            await everyone(attendees, "at step 2 after Redis came back", lambda m: m.get("step") == 2)
            assert post(a.http, CODE, "goto", step=1)["lesson"]["answers"] == {"B": 1}  # kept across the outage
            await eventually(lambda: room(a)["sessions"] == 4, "every session back in the room", blocking=True)
        finally:
            for att in attendees:
                await att.close()

    asyncio.run(outage())


def test_a_full_replica_is_not_ready_but_alive_and_sends_newcomers_to_the_other(
        start_server: Callable[..., ServerProcess], redis_server: RedisServer) -> None:
    a, b = replicas(start_server, redis_server, MAX_SESSIONS="2")

    async def fill() -> None:
        on_a = [await Attendee(a.ws, f"on-a-{i}").open() for i in range(2)]
        on_b = [await Attendee(b.ws, "on-b-0").open()]
        try:
            assert status(f"{a.http}/readyz") == 503 and status(f"{a.http}/livez") == 200
            assert status(f"{b.http}/readyz") == 200
            wait_for(lambda: room(a)["replicas"][0]["sessions"] + room(a)["replicas"][1]["sessions"] == 3, TIMEOUT,
                     "the room counting 3")
            with pytest.raises(websockets.InvalidStatus) as refused:  # b has a seat: refused before the handshake
                await websockets.connect(a.ws, open_timeout=TIMEOUT, proxy=None)
            assert refused.value.response.status_code == 503
            assert b"another one has seats" in refused.value.response.body
            on_b.append(await Attendee(b.ws, "on-b-1").open())  # now the whole room is full
            full = await Attendee(a.ws, "one-too-many").open()
            await eventually(lambda: full.closed, "the full room's answer")
            assert full.closed == (1013, "The explorer is full (2/2). Try again in a minute.")
            assert room(b)["refused_by_reason"]["full"] + room(a)["refused_by_reason"]["full"] >= 1
        finally:
            for att in on_a + on_b:
                await att.close()
        await eventually(lambda: status(f"{a.http}/readyz") == 200, "a ready again once its attendees left",
                         blocking=True)

    asyncio.run(fill())
