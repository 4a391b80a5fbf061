"""Lessons as data (app/lessons, docs/lessons.md): the shipped catalog loads and every step sets what its page
accepts; every question's answer passes its own check and is right, every other value is refused or wrong; the
Markdown subset keeps a lesson's text from becoming markup; bad lesson files are refused with the file, the step
and the field named (the corpus tests/cases/lessons, its expected messages in manifest.json).

What the built-in lesson's numbers say is checked against the engine in test_lesson_numbers.py.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from app.engine.config import check
from app.engine.distill import DistillSession, check_lab_size
from app.engine.loss import calculate
from app.engine.session import TrainingSession
from app.lessons import Lesson, LessonError, Question, Step, load
from app.lessons.catalog import DATA
from app.lessons.markdown import render, words
from app.lessons.model import PAGES, SETTINGS, parse_lesson
from tests.support.lesson_runs import SCENARIO, distill_settings, run_config

CASES = Path(__file__).parents[1] / "cases" / "lessons"
MANIFEST: dict[str, Any] = json.loads((CASES / "manifest.json").read_text(encoding="utf-8"))
BAD = sorted(name for name in MANIFEST if not name.startswith("_"))
BUILT_IN = "label-smoothing-20"
TRAINS = ("explorer", "sweep", "distill")  # the pages that train: a question there is asked before playing
WORDS = 120  # "a short text, at most ~120 words" (the format allows a little more: model.MAX_TEXT_WORDS)


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    found = load().get(BUILT_IN)
    assert found is not None, f"{BUILT_IN} is not in {load().names()}"
    return found


def steps() -> list[Step]:
    found = load().get(BUILT_IN)
    return list(found.steps) if found else []


# ---- the shipped catalog ------------------------------------------------------------------------------------
def test_the_shipped_catalog_loads_with_the_built_in_lesson(lesson: Lesson) -> None:
    assert sorted(load().names()) == sorted(p.stem for p in DATA.glob("*.toml"))
    described = lesson.describe()
    assert described["title"] == "Label smoothing in 20 minutes"
    assert described["steps"] == len(lesson.steps) == 10
    assert described["titles"] == [s.title for s in lesson.steps]


def test_the_built_in_lesson_follows_the_blog_in_the_issues_order(lesson: Lesson) -> None:
    pages = [s.page for s in lesson.steps]
    assert pages[0] == "calculator" and pages[-1] == "distill" and set(pages[1:-1]) == {"explorer"}
    scenarios = [s.settings.get("scenario") for s in lesson.steps]
    assert scenarios[4:7] == ["similar", "noisy", "unshuffled"]
    assert [s.projector for s in lesson.steps].index("sweep") == 8  # step 9, the room's ε sweep
    assert all(s.question is not None for s in lesson.steps)
    kinds = {s.question.kind for s in lesson.steps if s.question}
    assert kinds == {"choice", "number"}


@pytest.mark.parametrize("step", steps(), ids=lambda s: s.title)
def test_every_step_sets_what_its_page_accepts(step: Step) -> None:
    """Settings become the engine's objects as the pages build them, each checked by the engine itself."""
    assert step.page in PAGES and set(step.settings) <= set(SETTINGS[step.page])
    s = step.settings
    if step.page == "calculator":
        result = calculate(s["probs"], s["label"] - 1, s["eps"])
        assert len(result.targets) == len(s["probs"])
        return
    for key in ("speed", "temperature", "alpha"):
        if key in s:
            check(key, s[key])
    assert "scenario" not in s or s["scenario"] in SCENARIO
    config = run_config(step)
    if step.page == "distill":
        check_lab_size(config, distill_settings(step))
        assert DistillSession(config, distill_settings(step)).smoothed_eps == s.get("eps", config.eps)
    elif step.page == "sweep":
        assert TrainingSession(config, sweep_eps=s.get("eps", [0.0, 0.1])).is_sweep
    else:
        assert TrainingSession(config).smoothed_eps == config.eps


@pytest.mark.parametrize("step", steps(), ids=lambda s: s.title)
def test_a_question_is_asked_before_the_run_plays(step: Step) -> None:
    if step.question is not None and step.page in TRAINS:
        assert step.settings.get("play") is False, "a step that asks on a training page must set play = false"


def test_every_text_is_short() -> None:
    with (DATA / f"{BUILT_IN}.toml").open("rb") as f:
        data = tomllib.load(f)
    for n, step in enumerate(data["steps"], 1):
        for key, text in (("text", step["text"]), ("look_for", step["look_for"]), ("why", step["question"]["why"])):
            assert words(text) <= WORDS, f"step {n} {key}: {words(text)} words"


# ---- questions ------------------------------------------------------------------------------------------------
def questions() -> list[Question]:
    return [s.question for s in steps() if s.question is not None]


@pytest.mark.parametrize("q", questions(), ids=lambda q: q.prompt)
def test_every_answer_passes_its_own_check_and_is_right(q: Question) -> None:
    assert q.right(q.check(q.answer))
    if q.kind == "choice":
        assert q.answer in q.choices
        for wrong in (c for c in q.choices if c != q.answer):
            assert q.check(wrong) == wrong and not q.right(wrong)
    else:
        answer = float(q.answer)
        assert q.right(q.check(answer + 0.9 * q.tolerance)) and q.right(q.check(answer - 0.9 * q.tolerance))
        assert not q.right(q.check(answer + 1.1 * q.tolerance))


@pytest.mark.parametrize("q", questions(), ids=lambda q: q.prompt)
def test_a_value_outside_the_question_is_refused_with_words(q: Question) -> None:
    refused: list[Any] = ["none of these", 3, None, True] if q.kind == "choice" else [
        "3.33", None, True, float("nan"), float("inf"), 1e9, [3.33]]
    for value in refused:
        with pytest.raises(ValueError, match="must be one of" if q.kind == "choice" else "must be a number"):
            q.check(value)


@pytest.mark.parametrize("q", questions(), ids=lambda q: q.prompt)
def test_a_page_sees_the_answer_only_once_revealed(q: Question) -> None:
    public = q.public()
    assert "answer" not in public and "why" not in public and public["prompt"] == q.prompt
    assert q.revealed()["answer"] == q.answer and q.revealed()["why"] == q.why


# ---- the Markdown subset ---------------------------------------------------------------------------------------
def test_html_in_a_lesson_text_stays_text() -> None:
    rendered = render('<script>alert("x")</script> and <img src=x onerror=alert(1)> and `<b>`')
    assert "<script" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in rendered
    assert "<code>&lt;b&gt;</code>" in rendered


def test_bold_emphasis_code_and_paragraphs() -> None:
    assert render("the **logit gap**, *equidistant*, `ln 28`") == (
        "<p>the <strong>logit gap</strong>, <em>equidistant</em>, <code>ln 28</code></p>")
    assert render("one\nline\n\nand   another") == "<p>one line</p><p>and another</p>"
    assert render("2 * 3 * 4 and a*b") == "<p>2 * 3 * 4 and a*b</p>"  # a lone * is not emphasis


def test_a_lesson_file_cannot_put_markup_on_a_page() -> None:
    bad = "<script>steal()</script> **bold**"
    data = {"title": "T <b>", "summary": bad, "steps": [{"title": "S", "page": "explorer", "text": bad,
            "look_for": bad, "question": {"kind": "choice", "prompt": "P", "choices": ["a", "b"],
                                          "answer": "a", "why": bad}}]}
    parsed = parse_lesson("x", data, "x.toml")
    step = parsed.steps[0]
    assert step.question is not None
    for html in (parsed.summary, step.text, step.look_for, step.question.why):
        assert "<script>" not in html and "&lt;script&gt;" in html and "<strong>bold</strong>" in html


def test_the_shipped_texts_render_their_markup(lesson: Lesson) -> None:
    assert "<strong>logit gap</strong>" in lesson.steps[1].text
    assert "<code>ln(1 + K(1 − ε)/ε)</code>" in lesson.steps[8].text
    assert "<em>equidistant</em>" in (lesson.steps[3].question.why if lesson.steps[3].question else "")


# ---- bad lesson files ------------------------------------------------------------------------------------------
def test_the_corpus_and_its_manifest_agree() -> None:
    assert sorted(p.name for p in CASES.glob("*.toml")) == BAD
    assert len(BAD) >= 12


@pytest.mark.parametrize("name", BAD)
def test_a_bad_lesson_file_is_refused_naming_file_step_and_field(name: str, tmp_path: Path) -> None:
    expected = MANIFEST[name]
    shutil.copy(CASES / name, tmp_path / name)
    with pytest.raises(LessonError) as caught:
        load(tmp_path)
    message = str(caught.value)
    at = f", step {expected['step']}" if expected["step"] is not None else ""
    prefix = f"lessons/{name}{at}, field {expected['field']!r}: "
    assert message.startswith(prefix), message
    assert expected["message"] in message[len(prefix):], message


def test_a_good_lesson_beside_a_bad_one_does_not_hide_it(tmp_path: Path) -> None:
    shutil.copy(DATA / f"{BUILT_IN}.toml", tmp_path)
    shutil.copy(CASES / "unknown-page.toml", tmp_path)
    with pytest.raises(LessonError, match="unknown-page.toml, step 2, field 'page'"):
        load(tmp_path)
