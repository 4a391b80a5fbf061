"""Browser test of the self-paced lesson panel (issue 20): `?lesson=NAME&step=N` on any page shows the built-in
lesson's step beside the live panels and puts the page in its settings; prev / next (buttons, or ← / → in the
panel), the question, "show the answer"; the URL follows the step, a step of another page opens that page; an
unknown lesson or step is said in words and the page still works. axe on the panel, desktop and phone; no console
error. The e2e server (tests/e2e/conftest.py) serves the built-in lesson; no host leads it here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Watched
from tests.e2e.pages import text_is
from tests.support.axe import violations

pytestmark = pytest.mark.e2e
LESSON = "label-smoothing-20"


def title_is(page: Any, title: str) -> None:
    text_is(page, "lesson-title", title)


def step_in_url(page: Any) -> str | None:
    found = re.search(r"[?&]step=(\d+)", page.url)
    return found.group(1) if found else None


def test_a_self_paced_lesson_moves_step_by_step_and_the_url_follows(watched: Watched) -> None:
    page = watched.page
    page.goto(f"{watched.base}/?lesson={LESSON}&step=2")
    title_is(page, "Two twins: where does the logit gap stop?")
    assert page.get_by_test_id("lesson-where").inner_text().lower() == "label smoothing in 20 minutes · step 2 of 10"
    # the step's settings: the distinct classes, ε = 0.1, paused until the attendee presses play
    page.wait_for_selector("[data-scenario=distinct][aria-pressed=true]")
    assert page.get_by_test_id("eps-value").input_value() == "0.1"
    assert page.get_by_test_id("play-toggle").inner_text() == "▶ play"
    assert "lesson=label-smoothing-20" in page.url and step_in_url(page) == "2"
    assert "scenario=distinct" in page.url  # the page's own state is in the URL beside the lesson's

    # the question before the answer: a number, typed; then the answer and why
    assert page.get_by_test_id("lesson-answer").count() == 0
    page.get_by_test_id("lesson-number").fill("3.3")
    page.get_by_test_id("lesson-number").press("Enter")
    text_is(page, "lesson-mine", "your answer: 3.3")
    page.get_by_test_id("lesson-show-answer").click()
    assert page.get_by_test_id("lesson-answer").inner_text().startswith("Answer: 3.33 (± 0.25)")
    assert page.get_by_test_id("lesson-mine").inner_text() == "your answer: 3.3 · right"
    assert violations(page) == []

    # the keyboard: → and ← in the panel move the lesson (not the run's history), Enter presses a button
    page.get_by_test_id("lesson-next").focus()
    page.keyboard.press("ArrowRight")
    title_is(page, "Can the smoothed loss reach zero?")
    assert step_in_url(page) == "3"
    assert page.get_by_test_id("status-step").inner_text() == "0", "the run took no step"
    assert page.get_by_test_id("lesson-answer").count() == 0, "a new step asks before it answers"
    page.get_by_test_id("lesson-choice-2").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=lesson-choice-2][aria-pressed=true]")
    page.keyboard.press("ArrowLeft")
    title_is(page, "Two twins: where does the logit gap stop?")
    assert step_in_url(page) == "2"

    # step 1 is on the calculator: the page opens it, in the step's vector, label and ε
    page.get_by_test_id("lesson-prev").click()
    page.wait_for_url(re.compile(r"/calculator\?lesson=label-smoothing-20&step=1$"))
    title_is(page, "One-hot and smoothed targets")
    text_is(page, "calc-smoothed-loss", "0.675")
    assert page.get_by_test_id("calc-k").input_value() == "4"
    assert page.get_by_test_id("calc-label").input_value() == "1"  # the blog's label 2, counted from 1
    assert page.get_by_test_id("lesson-prev").is_disabled()
    page.get_by_test_id("lesson-choice-1").click()
    page.get_by_test_id("lesson-show-answer").click()
    assert page.get_by_test_id("lesson-mine").inner_text() == "your answer: p1, the more confident · right"
    assert "0.610" in page.get_by_test_id("lesson-answer").inner_text()
    assert violations(page) == []
    page.get_by_test_id("lesson-next").click()
    page.wait_for_url(re.compile(r"/\?.*step=2"))
    title_is(page, "Two twins: where does the logit gap stop?")
    assert watched.errors == [], watched.errors


def test_the_panel_on_a_phone_folds_and_passes_axe(phone: Watched) -> None:
    page = phone.page
    page.goto(f"{phone.base}/distill?lesson={LESSON}&step=10")
    title_is(page, "The teacher who smooths is a worse teacher")
    page.wait_for_function("() => document.querySelector('[data-testid=distill-similarity]').value === '0.5'")
    assert page.get_by_test_id("distill-alpha").input_value() == "0"
    panel = page.get_by_test_id("lesson-panel").bounding_box()
    assert panel is not None and panel["width"] <= 390, "the panel fits the phone's width"
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), "no sideways scrolling"
    assert page.get_by_test_id("lesson-next").is_disabled()  # the last step
    assert violations(page) == []
    page.get_by_test_id("lesson-fold").tap()
    assert page.get_by_test_id("lesson-title").is_hidden()
    assert page.get_by_test_id("lesson-fold").get_attribute("aria-expanded") == "false"
    page.get_by_test_id("lesson-fold").tap()
    assert page.get_by_test_id("lesson-title").is_visible()
    assert phone.errors == [], phone.errors


def test_an_unknown_lesson_or_step_is_said_and_the_page_still_works(watched: Watched) -> None:
    page = watched.page
    page.goto(f"{watched.base}/sweep?lesson=no-such-lesson&step=2")
    text_is(page, "lesson-problem", "There is no lesson named “no-such-lesson”: the page works without it.")
    assert page.get_by_test_id("sweep-start").is_enabled()
    page.goto(f"{watched.base}/calculator?lesson={LESSON}&step=99")
    text_is(page, "lesson-problem", "“Label smoothing in 20 minutes” has 10 steps: step 99 is not one of them.")
    text_is(page, "calc-smoothed-loss", "0.675")
    assert violations(page) == []
    page.get_by_test_id("lesson-first").click()
    title_is(page, "One-hot and smoothed targets")
    assert step_in_url(page) == "1"
    assert watched.errors == [], watched.errors
