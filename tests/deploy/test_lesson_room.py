"""A lesson with a room of 30 over two worker processes (`python -m app serve --workers 2`, one embedded room store):
every attendee follows start, next, pause, reveal and the spread of ε, whichever worker holds its session; the
answers are counted exactly, once per browser; a late joiner lands on the step; a restart keeps step and answers."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import attendees
from tests.support.attendees import Attendee, everyone
from tests.support.server import ServerProcess, await_for, get_json

CODE = "lead-the-room"
LESSONS = str(Path(__file__).resolve().parents[1] / "cases" / "lessons_good")
ROOM = 30
TIMEOUT = 60.0


def post(server: ServerProcess, action: str, **body: Any) -> dict[str, Any]:
    return attendees.post(server.http, CODE, action, **body)


def test_thirty_attendees_over_two_workers_follow_a_lesson(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(workers=2, HOST_CODE=CODE, LESSONS_DIR=LESSONS, MAX_SESSIONS="100")
    state_dir = str(server.tmpdir / "state")
    room_url = f"{server.http}/api/room?code={CODE}"

    async def lesson_with_a_room() -> None:
        room = [await Attendee(server.ws, f"attendee-{i:02d}").open() for i in range(ROOM)]
        try:
            await await_for(lambda: asyncio.to_thread(lambda: len(server.sessions_by_worker()) == 2), TIMEOUT,
                            "sessions on both workers", 0.1)
            assert post(server, "start", lesson="three-steps")["lesson"]["step"] == 1
            await everyone(room, "at step 1", lambda m: m.get("step") == 1)
            for i, a in enumerate(room):  # 18 say B, 12 say A; each browser once (the first said A, then B)
                if i == 0:
                    await a.ws.send(json.dumps({"type": "answer", "step": 1, "value": "A"}))
                await a.ws.send(json.dumps({"type": "answer", "step": 1, "value": "B" if i < 18 else "A"}))
            await everyone(room, "answered", lambda m: m.get("mine") is not None)
            lesson = get_json(room_url)["lesson"]
            assert lesson["answers"] == {"A": 12, "B": 18} and lesson["answered"] == ROOM
            assert all("answers" not in a.last for a in room)  # never an attendee's to see
            post(server, "reveal")
            await everyone(room, "revealed", lambda m: m.get("revealed") is True
                           and m["content"]["question"]["answer"] == "B")
            post(server, "next")
            await everyone(room, "at step 2", lambda m: m.get("step") == 2 and not m["revealed"])
            post(server, "pause")
            await everyone(room, "paused", lambda m: m.get("paused") is True)
            post(server, "resume")
            await everyone(room, "resumed", lambda m: m.get("paused") is False)
            post(server, "goto", step=3)
            post(server, "spread_eps")
            await everyone(room, "given an ε", lambda m: m.get("step") == 3 and m.get("eps") is not None)
            spread = sorted(a.last["eps"] for a in room)
            assert spread == [round(0.5 * i / (ROOM - 1), 3) for i in range(ROOM)]  # all different, 0 to 0.5
            late = await Attendee(server.ws, "late-joiner").open()

            async def told() -> bool:
                return bool(late.lessons)

            await await_for(told, TIMEOUT, "the late joiner told", 0.05)
            assert late.lessons[0]["step"] == 3  # lands where the room is
            await late.close()
        finally:
            for a in room:
                await a.close()

    asyncio.run(lesson_with_a_room())
    server.stop()
    again = start_server(workers=2, HOST_CODE=CODE, LESSONS_DIR=LESSONS, STATE_DIR=state_dir)
    lesson = get_json(f"{again.http}/api/room?code={CODE}")["lesson"]
    assert lesson["step"] == 3 and lesson["name"] == "three-steps"  # the restart resumed the lesson
    assert post(again, "goto", step=1)["lesson"]["answers"] == {"A": 12, "B": 18}  # with its answers


def test_an_attendee_is_refused_a_websocket_origin_not_its_own_and_the_host_a_cross_site_post(
        start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(HOST_CODE=CODE, LESSONS_DIR=LESSONS)
    request = urllib.request.Request(f"{server.http}/api/lesson?code={CODE}", method="POST",
                                     data=b'{"action": "start", "lesson": "three-steps"}',
                                     headers={"content-type": "application/json", "origin": "http://evil.example"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        opener.open(request, timeout=30)
        raise AssertionError("a cross-site post was taken")
    except urllib.error.HTTPError as err:
        assert err.code == 403
    assert get_json(f"{server.http}/api/room?code={CODE}")["lesson"] is None
