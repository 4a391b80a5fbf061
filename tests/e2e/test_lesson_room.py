"""Browser test of a lesson led by the host (issue 20): /host, three attendees (one on a phone) and the projector
view follow tests/cases/lessons_good/three-steps.toml end to end on a real server of their own (LESSONS_DIR,
HOST_CODE): start → a step on the explorer, answers, the reveal (the projector's distribution only then), the
room paused and resumed, a step on the calculator (every page goes there, one attendee explores on their own and
rejoins), the room's ε sweep spread over the attendees, the end. axe on the banner, the panel, the overlay, /host
with a lesson and the projector; no console error anywhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PHONE, PROJECTOR, Watched
from tests.e2e.pages import text_has, text_is
from tests.support.axe import violations
from tests.support.server import REPO, ServerProcess

pytestmark = pytest.mark.e2e
CODE = "lead-the-room"
LESSONS = str(REPO / "tests" / "cases" / "lessons_good")
DESKTOP = {"viewport": {"width": 1600, "height": 1000}}
WAIT_MS = 30_000  # a step reaches every page within this (the host's "next" takes well under a second)


@pytest.fixture(scope="module")
def room_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own: the small test lesson next to the built-in one, a host code."""
    env = {"LESSONS_DIR": LESSONS, "HOST_CODE": CODE}
    with ServerProcess(workers=1, env=env, base=tmp_path_factory.mktemp("lesson-room")) as server:
        yield server.http


class Pages:
    """Every browser context the test opens, each page watched; closed at the end."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser, self.base = browser, base
        self.contexts: list[Any] = []
        self.watched: list[Watched] = []

    def open(self, screen: dict[str, Any], path: str) -> Any:
        context = self.browser.new_context(**screen)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        self.watched.append(Watched(page, self.base))
        page.goto(self.base + path)
        return page

    def errors(self) -> list[str]:
        return [e for w in self.watched for e in w.errors]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Any, room_url: str) -> Iterator[Pages]:
    opened = Pages(browser, room_url)
    yield opened
    opened.close()


def on_step(page: Any, path: str, title: str) -> None:
    """The page is `path` (following the host: ?room=1) and its panel shows the step titled `title`."""
    page.wait_for_url(re.compile(re.escape(path) + r"(\?|$)"))
    text_is(page, "lesson-title", title)


def host_command(host: Any, testid: str) -> None:
    host.get_by_test_id(testid).click()
    assert not host.get_by_test_id("lesson-error").is_visible(), host.get_by_test_id("lesson-error").inner_text()


def test_a_room_follows_the_host_through_a_lesson(pages: Pages, room_url: str, artifacts: Path) -> None:
    host = pages.open(DESKTOP, f"/host?code={CODE}")
    host.wait_for_function("() => document.querySelectorAll('[data-testid=lesson-pick] option').length >= 2")
    host.get_by_test_id("lesson-pick").select_option("three-steps")
    text_has(host, "lesson-start-step", "1 · Pick one")
    attendees = [pages.open(DESKTOP, "/?scenario=similar"), pages.open(DESKTOP, "/"), pages.open(PHONE, "/")]
    desk, other, phone = attendees
    for page in attendees:
        page.wait_for_function("() => document.getElementById('status-conn').textContent === 'connected'")
        assert page.get_by_test_id("follow-bar").is_hidden() and page.get_by_test_id("lesson-panel").is_hidden()
    projector = pages.open(PROJECTOR, f"/host?present=1&code={CODE}")
    assert projector.get_by_test_id("attendee-qr").count() + projector.get_by_test_id("room-note").count() >= 1

    # start: every page lands on step 1, the explorer in its settings (the distinct classes, paused)
    host.get_by_test_id("lesson-start").click()
    for page in attendees:
        text_is(page, "follow-text", "following the host · step 1 of 3")
        on_step(page, "/", "Pick one")
        text_is(page, "play-toggle", "▶ play")
        page.wait_for_selector("[data-scenario=distinct][aria-pressed=true]")
    assert "scenario=distinct" in desk.url and "room" not in desk.url  # the step replaced the attendee's own run
    text_is(host, "lesson-step-title", "Pick one")
    text_is(host, "lesson-following", "3 of 3 attendees following")
    text_is(projector, "proj-title", "Pick one")

    # answers, one changed before the reveal; the projector counts them and shows nothing else
    desk.get_by_test_id("lesson-choice-2").click()
    other.get_by_test_id("lesson-choice-1").click()
    text_is(other, "lesson-mine", "your answer: A")
    other.get_by_test_id("lesson-choice-2").click()
    text_is(other, "lesson-mine", "your answer: B")
    phone.get_by_test_id("lesson-choice-1").tap()
    text_is(phone, "lesson-mine", "your answer: A")
    text_is(host, "lesson-answered", "3 answers")
    host.wait_for_function("() => [...document.querySelectorAll('[data-testid=lesson-dist] .dist-count')]"
                           ".map(e => e.textContent).join() === '1,2'")
    text_is(projector, "proj-answered", "3 answers")
    assert projector.get_by_test_id("proj-dist").is_hidden() and projector.get_by_test_id("proj-answer").is_hidden()
    assert "Because the test says so" not in projector.content(), "no answer on the projector before the reveal"
    for page in (desk, phone):
        assert violations(page) == [], page.url  # the banner and the panel, desktop and phone
    assert violations(host) == []

    # the reveal: the distribution on the projector, the answer and why on every page
    host_command(host, "lesson-reveal")
    projector.get_by_test_id("proj-dist").wait_for()
    rows = projector.locator("[data-testid=proj-dist] .dist-row")
    assert [rows.nth(i).inner_text().split("\n") for i in range(rows.count())] == [["A", "1"], ["B ✓", "2"]]
    text_has(projector, "proj-answer", "Because the test says so")
    assert violations(projector) == []
    projector.screenshot(path=str(artifacts / "lesson-projector.png"))
    text_is(phone, "lesson-mine", "your answer: A · not this time")
    text_is(desk, "lesson-mine", "your answer: B · right")
    assert phone.get_by_test_id("lesson-choice-2").is_disabled(), "answers close with the reveal"

    # eyes on the front, then back
    host_command(host, "lesson-pause")
    for page in attendees:
        page.get_by_test_id("eyes-overlay").wait_for()
    assert desk.evaluate("() => document.activeElement.id") == "eyes-title"
    desk.keyboard.press(" ")  # the page's own keys wait while the room is paused (space would play)
    assert desk.get_by_test_id("play-toggle").inner_text() == "▶ play"
    assert violations(phone) == []
    phone.screenshot(path=str(artifacts / "lesson-eyes-phone.png"))
    text_is(host, "lesson-pause", "resume the room")
    host_command(host, "lesson-pause")
    for page in attendees:
        page.get_by_test_id("eyes-overlay").wait_for(state="hidden")

    # step 2 is on the calculator: every page goes there and puts in the step's vector, label and ε
    host_command(host, "lesson-next")
    for page in attendees:
        on_step(page, "/calculator", "Type a number")
        page.wait_for_function("() => document.querySelector('[data-testid=calc-k]').value === '3'")
        assert page.get_by_test_id("calc-label").input_value() == "1"  # label 2, counted from 1
        assert page.get_by_test_id("calc-eps").input_value() == "0.1"
        assert "room=1" in page.url
    other.get_by_test_id("follow-toggle").click()
    text_is(other, "follow-text", "exploring on my own · the host is at step 2 of 3")
    text_is(host, "lesson-following", "2 of 3 attendees following")
    desk.get_by_test_id("lesson-number").fill("3")
    desk.get_by_test_id("lesson-number").press("Enter")
    text_is(desk, "lesson-mine", "your answer: 3")
    text_is(host, "lesson-answered", "1 answer")

    # step 3, the room's sweep, on the explorer: those who follow go; the one on their own stays, then rejoins
    host_command(host, "lesson-next")
    for page in (desk, phone):
        on_step(page, "/", "The room's sweep")
    text_is(other, "follow-text", "exploring on my own · the host is at step 3 of 3")
    assert "/calculator" in other.url
    other.get_by_test_id("follow-toggle").click()
    on_step(other, "/", "The room's sweep")
    text_is(other, "follow-text", "following the host · step 3 of 3")
    text_is(host, "lesson-following", "3 of 3 attendees following")
    host_command(host, "lesson-spread")
    shown = []
    for page in attendees:
        text_has(page, "follow-eps", "your ε for the room's sweep: ")
        eps = page.get_by_test_id("follow-eps").inner_text().rsplit(" ", 1)[1]
        page.wait_for_function("e => document.querySelector('[data-testid=eps-value]').value === e", arg=eps)
        shown.append(float(eps))
    assert sorted(shown) == [0.0, 0.25, 0.5], shown  # over [0, 0.5], one each
    projector.get_by_test_id("proj-sweep").wait_for()
    projector.wait_for_function("() => (document.getElementById('proj-acc').data || [])[0]?.x.length >= 1")
    gap = projector.evaluate("() => document.getElementById('proj-gap').data.map(t => t.line ? t.line.dash : 'points')")
    assert gap == ["points", "dash"], gap  # the attendees' gaps and the theory, dashed
    assert violations(projector) == []

    # the end: banners, overlays and panels go; the projector shows the join link again
    host_command(host, "lesson-end")
    for page in attendees:
        page.get_by_test_id("follow-bar").wait_for(state="hidden")
        page.get_by_test_id("lesson-panel").wait_for(state="hidden")
        assert "room=1" not in page.url
    host.get_by_test_id("lesson-start-form").wait_for()
    projector.wait_for_selector("#proj-join:not([hidden])")
    assert pages.errors() == []


def test_the_host_keeps_the_attendees_address_and_says_when_the_room_store_is_away(pages: Pages) -> None:
    host = pages.open(DESKTOP, f"/host?code={CODE}")
    assert host.get_by_test_id("attendee-qr").count() == 0  # 127.0.0.1 only: no link until the host says one
    host.get_by_test_id("public-url").fill("http://192.168.1.20:8000")
    host.get_by_test_id("public-url-save").click()
    text_is(host, "public-url-note", "kept: http://192.168.1.20:8000")
    host.wait_for_selector("[data-testid=attendee-qr][data-url='http://192.168.1.20:8000/']")
    text_is(host, "attendee-url", "http://192.168.1.20:8000/")
    host.get_by_test_id("public-url").fill("not an address")
    host.get_by_test_id("public-url-save").click()
    host.wait_for_selector("[data-testid=public-url-note].bad")
    text_has(host, "public-url-note", "the address must be the address attendees open, such as http://192.168.1.20:8000")
    host.get_by_test_id("public-url").fill("")
    host.get_by_test_id("public-url-save").click()
    text_has(host, "public-url-note", "none kept")
    host.wait_for_function("() => !document.querySelector('[data-testid=attendee-qr]')")

    # a lesson at step 2; then the room store stops answering (a Redis server away): /api/room says so, and the
    # page (its refreshes held at that answer) says since when
    host.get_by_test_id("lesson-pick").select_option("three-steps")
    host.get_by_test_id("lesson-start-step").select_option("2")
    host.get_by_test_id("lesson-start").click()
    text_is(host, "lesson-step", "2")
    room = host.evaluate("() => fetch('/api/room', {credentials: 'same-origin'}).then(r => r.json())")
    room["store"] = {"kind": "redis", "ok": False, "since": 1_700_000_000.0}
    body = json.dumps(room)
    host.route("**/api/room", lambda route: route.fulfill(status=200, content_type="application/json", body=body))
    since = host.evaluate("() => new Date(1700000000 * 1000).toTimeString().slice(0, 8)")
    text_is(host, "store-down", f"room store unreachable since {since}")
    assert host.get_by_test_id("store-down").evaluate("e => getComputedStyle(e).color") == "rgb(122, 20, 37)"  # red

    # a command that cannot be (the lesson was ended elsewhere) is refused in the server's words
    host.evaluate("""() => fetch('/api/lesson', {method: 'POST', credentials: 'same-origin',
        headers: {'content-type': 'application/json'}, body: JSON.stringify({action: 'end'})})""")
    host.get_by_test_id("lesson-next").click()
    text_is(host, "lesson-error-text", "no lesson is running: start one first")
    host.unroute("**/api/room")
    host.get_by_test_id("lesson-start-form").wait_for()
    host.get_by_test_id("store-down").wait_for(state="hidden")
    # the refusals' own lines in the console (Chromium logs a 4xx answer to fetch), and nothing else
    assert sorted(pages.errors()) == [f"console: Failed to load resource: the server responded with a status of {n} "
                                      f"({why})" for n, why in ((409, "Conflict"), (422, "Unprocessable Entity"))]
