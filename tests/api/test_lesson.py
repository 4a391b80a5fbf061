"""The room's lesson over real WebSockets (app/server/classroom.py, docs/protocol.md "Lessons"), one worker in-process:
the host's commands, what attendees are told, their answers (anonymous, one per browser, hidden until the
reveal), pause, the spread of ε, a late joiner, a restart, and every refusal. Two workers and thirty attendees:
tests/deploy/test_lesson_room.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import WsSession
from tests.support.server import wait_for

LESSONS = str(Path(__file__).resolve().parents[1] / "cases" / "lessons_good")
CODE = "host-42"
Connect = Callable[..., Any]
WAIT_S = 30.0


@pytest.fixture
def room(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(host_code=CODE, lessons_dir=LESSONS)


def host(client: TestClient, action: str, **body: Any) -> Any:
    return client.post(f"/api/lesson?code={CODE}", json={"action": action, **body})


def lesson(s: WsSession, until: Callable[[dict[str, Any]], bool] = lambda m: True) -> dict[str, Any]:
    """The next `lesson` message that satisfies `until` (frames and other texts on the way are read past)."""
    for _ in range(2_000):
        msg = s.next_text("lesson")
        if until(msg):
            return msg
    raise AssertionError("no such lesson message")


def wait_until(what: str, check: Callable[[], bool]) -> None:
    """Poll `check` until it holds (AssertionError naming `what` after WAIT_S, a give-up, not a measurement)."""
    wait_for(check, WAIT_S, what, 0.02)


def test_the_host_walks_a_room_through_a_lesson(room: TestClient, open_ws: Connect) -> None:
    with open_ws(room, "/ws?browser=attendee-one") as a, open_ws(room, "/ws?browser=attendee-two") as b:
        assert lesson(a)["lesson"] is None  # right after hello: no lesson yet
        r = host(room, "start", lesson="three-steps")
        assert r.status_code == 200 and r.json()["lesson"]["step"] == 1
        for s in (a, b):
            m = lesson(s, lambda m: m["lesson"] is not None)
            assert (m["step"], m["steps"], m["title"], m["following"]) == (1, 3, "Three steps", True)
            assert m["content"]["page"] == "explorer" and m["content"]["settings"]["scenario"] == "distinct"
            assert m["content"]["question"] == {"kind": "choice", "prompt": "A or B?", "choices": ["A", "B"]}
            assert "answer" not in m["content"]["question"] and "answers" not in m  # nothing given away
        assert host(room, "next").json()["lesson"]["step"] == 2
        assert lesson(a, lambda m: m.get("step") == 2)["content"]["question"]["kind"] == "number"
        assert host(room, "goto", step=3).json()["lesson"]["content"]["projector"] == "sweep"
        assert host(room, "prev").json()["lesson"]["step"] == 2
        assert host(room, "end").json()["lesson"] is None
        assert lesson(b, lambda m: m["lesson"] is None)["lesson"] is None


def test_answers_are_one_per_browser_changeable_until_the_reveal_and_hidden_from_attendees(
        room: TestClient, open_ws: Connect) -> None:
    host(room, "start", lesson="three-steps")
    with open_ws(room, "/ws?browser=attendee-one") as a, open_ws(room, "/ws?browser=attendee-two") as b:
        a.send({"type": "answer", "step": 1, "value": "A"})
        assert lesson(a, lambda m: m.get("mine") == "A")["mine"] == "A"
        a.send({"type": "answer", "step": 1, "value": "B"})  # changed its mind: still one answer
        lesson(a, lambda m: m.get("mine") == "B")
        b.send({"type": "answer", "step": 1, "value": "B"})
        lesson(b, lambda m: m.get("mine") == "B")
        room_now = room.get(f"/api/room?code={CODE}").json()["lesson"]
        assert room_now["answers"] == {"B": 2} and room_now["answered"] == 2 and room_now["attendees"] == 2
        host(room, "reveal")
        revealed = lesson(b, lambda m: m.get("revealed") is True)
        assert revealed["content"]["question"]["answer"] == "B" and "Because" in revealed["content"]["question"]["why"]
        assert "answers" not in revealed  # the distribution is the projector's, never an attendee's
        a.send({"type": "answer", "step": 1, "value": "A"})
        assert "revealed" in a.error()
        assert room.get(f"/api/room?code={CODE}").json()["lesson"]["answers"] == {"B": 2}


@pytest.mark.parametrize(("message", "words"), [
    ({"type": "answer", "step": 2, "value": "A"}, "the room is at step 1, not 2"),
    ({"type": "answer", "step": 1, "value": "C"}, "one of: A, B"),
    ({"type": "answer", "step": 1, "value": 3.5}, "one of: A, B"),
    ({"type": "answer", "step": 1}, "value"),
    ({"type": "answer", "step": 0, "value": "A"}, "step"),
    ({"type": "answer", "step": 1, "value": "A", "who": "me"}, "not a setting"),
    ({"type": "follow", "on": "maybe"}, "on"),
])
def test_a_bad_answer_or_follow_is_refused_in_words_and_counts_nothing(room: TestClient, open_ws: Connect,
                                                                        message: dict[str, Any], words: str) -> None:
    host(room, "start", lesson="three-steps")
    with open_ws(room) as s:
        s.send(message)
        assert words in s.error()
        assert room.get(f"/api/room?code={CODE}").json()["lesson"]["answered"] == 0
        assert s.step_to(2)["step"] == 2  # the session goes on


def test_a_flood_of_answers_counts_once(room: TestClient, open_ws: Connect) -> None:
    host(room, "start", lesson="three-steps")
    with open_ws(room, "/ws?browser=a-flooding-browser") as s:
        for i in range(300):
            s.send({"type": "answer", "step": 1, "value": "AB"[i % 2]})
        s.send({"type": "ping"})
        wait_until("the flood is read", lambda: room.get(f"/api/room?code={CODE}").json()["lesson"]["answered"] == 1)
        assert sum(room.get(f"/api/room?code={CODE}").json()["lesson"]["answers"].values()) == 1


def test_host_commands_need_the_code_and_the_pages_origin(room: TestClient) -> None:
    assert room.post("/api/lesson", json={"action": "start", "lesson": "three-steps"}).status_code == 401
    evil = room.post(f"/api/lesson?code={CODE}", json={"action": "start", "lesson": "three-steps"},
                     headers={"origin": "http://evil.example"})
    assert evil.status_code == 403 and "cross-site" in evil.json()["error"]
    assert room.get(f"/api/room?code={CODE}").json()["lesson"] is None  # nothing changed
    assert host(room, "next").json() == {"error": "no lesson is running: start one first"}
    assert "no lesson named 'nope'" in host(room, "start", lesson="nope").json()["error"]
    assert host(room, "dance").status_code == 422
    host(room, "start", lesson="three-steps")
    assert host(room, "prev").json() == {"error": "this is the first step"}
    assert host(room, "goto", step=9).json() == {"error": "step 9 is not a step of this lesson: 1 to 3"}
    host(room, "goto", step=3)
    assert host(room, "next").json() == {"error": "this is the last step"}


def test_pause_stops_every_run_and_resume_goes_on_where_each_was(room: TestClient, open_ws: Connect) -> None:
    host(room, "start", lesson="three-steps")
    with open_ws(room) as s:
        s.send({"type": "play"})
        s.next_frame(lambda f: f["step"] > 10)
        host(room, "pause")
        assert lesson(s, lambda m: m.get("paused") is True)["paused"]
        (conn,) = room.app.state.connections  # type: ignore[attr-defined]
        wait_until("training stops", lambda: conn.live.room_paused)
        held = conn.live.session.step_count
        time.sleep(0.3)  # ten ticks: a paused room trains nothing
        assert conn.live.session.step_count == held and conn.live.playing  # still "playing": it resumes
        host(room, "resume")
        s.next_frame(lambda f: f["step"] > held + 10)


def test_a_late_joiner_lands_on_the_step_and_the_spread_gives_everyone_an_eps(room: TestClient,
                                                                             open_ws: Connect) -> None:
    host(room, "start", lesson="three-steps", step=3)
    with open_ws(room) as a, open_ws(room) as b, open_ws(room) as c:
        assert lesson(c)["step"] == 3  # the first message after hello: where the room is
        host(room, "spread_eps")
        got = sorted(lesson(s, lambda m: m.get("spread") is True)["eps"] for s in (a, b, c))
        assert got == [0.0, 0.25, 0.5]
        conns = room.app.state.connections  # type: ignore[attr-defined]
        wait_until("each run trains at its ε", lambda: sorted(c.live.session.smoothed_eps for c in conns)
                   == [0.0, 0.25, 0.5])


def test_follow_off_and_on_is_counted_for_the_host(room: TestClient, open_ws: Connect) -> None:
    host(room, "start", lesson="three-steps")
    with open_ws(room) as a, open_ws(room):
        a.send({"type": "follow", "on": False})
        assert lesson(a, lambda m: m["following"] is False)["following"] is False
        wait_until("the host sees one following",
                   lambda: room.get(f"/api/room?code={CODE}").json()["lesson"]["following"] == 1)


def test_a_restart_keeps_the_step_and_the_answers(make_client: Callable[..., TestClient], tmp_path: Path,
                                                  open_ws: Connect) -> None:
    state = str(tmp_path / "kept")
    first = make_client(host_code=CODE, lessons_dir=LESSONS, state_dir=state)
    host(first, "start", lesson="three-steps")
    with open_ws(first, "/ws?browser=attendee-one") as s:
        s.send({"type": "answer", "step": 1, "value": "A"})
        lesson(s, lambda m: m.get("mine") == "A")
    host(first, "next")
    first.__exit__(None, None, None)  # the server goes away
    again = make_client(host_code=CODE, lessons_dir=LESSONS, state_dir=state)
    now = again.get(f"/api/room?code={CODE}").json()["lesson"]
    assert now["step"] == 2 and now["name"] == "three-steps"
    host(again, "prev")
    assert again.get(f"/api/room?code={CODE}").json()["lesson"]["answers"] == {"A": 1}
    with open_ws(again, "/ws?browser=attendee-one") as s:
        assert lesson(s)["mine"] == "A"  # the same browser sees its answer again
