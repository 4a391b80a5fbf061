"""Every number a shipped lesson states is checked against the engine, so a lesson cannot drift from it.

Each text field of each step (title, text, look_for, the question's prompt, choices, answer and why) is scanned
for numbers (tests/support/lesson_text.py). Each one must be an input the step's own settings hold, or a claim
in tests/unit/lesson_claims.py, whose check computes it with the engine (losses, floors, gaps: app/engine/loss.py;
behaviour: a seeded training run of the step's settings) or finds it in the paper's or the blog's transcribed
table. The questions' answers are checked the same way (lesson_behaviour.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.lessons import Lesson, Step, load
from app.lessons.catalog import DATA
from app.lessons.model import parse_lesson
from tests.support.lesson_text import canonical, inputs, mentions
from tests.unit.lesson_behaviour import ANSWERS, BEHAVIOUR
from tests.unit.lesson_claims import CLAIMS, LESSON_CLAIMS, Claim

BUILT_IN = "label-smoothing-20"
CLAIMED = {BUILT_IN: {(c.step, c.mention) for c in CLAIMS}}  # other lessons: add their table here
SHIPPED = sorted(DATA.glob("*.toml"))


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    found = load().get(BUILT_IN)
    assert found is not None
    return found


def raw(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def fields(step: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every text a step shows, by field name (a number answer as the page writes it)."""
    for key in ("title", "text", "look_for"):
        yield key, step[key]
    question = step.get("question")
    if question:
        yield "question.prompt", question["prompt"]
        yield "question.why", question["why"]
        for i, choice in enumerate(question.get("choices", [])):
            yield f"question.choices[{i}]", choice
        answer = question["answer"]
        yield "question.answer", answer if isinstance(answer, str) else format(answer, "g")


def unchecked(name: str, n: int, data: dict[str, Any], step: Step) -> list[str]:
    """The numbers step n states that are neither inputs of its settings nor claims checked for it."""
    held = inputs(step)
    claimed = CLAIMED.get(name, set())
    return [f"{field}: {m}" for field, text in fields(data) for m in mentions(text)
            if (n, m) not in claimed and canonical(m) not in held]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_number_a_step_states_is_an_input_or_a_checked_claim(path: Path) -> None:
    data = raw(path)
    parsed = parse_lesson(path.stem, data, path.name)
    problems = [f"step {n}, {problem}" for n, (d, step) in enumerate(zip(data["steps"], parsed.steps, strict=True), 1)
                for problem in unchecked(path.stem, n, d, step)]
    assert not problems, "numbers neither an input of the step nor in the claims table:\n" + "\n".join(problems)


def test_the_lesson_title_and_summary_state_only_checked_numbers(lesson: Lesson) -> None:
    data = raw(DATA / f"{BUILT_IN}.toml")
    stated = [m for key in ("title", "summary") for m in mentions(data[key])]
    assert stated == ["20"]
    for m in stated:
        LESSON_CLAIMS[m][1](lesson, m)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"step{c.step}:{c.mention}")
def test_claim_holds(claim: Claim, lesson: Lesson) -> None:
    claim.check(lesson.steps[claim.step - 1], claim.mention)


def test_every_claim_is_stated_by_its_step() -> None:
    data = raw(DATA / f"{BUILT_IN}.toml")
    stated = {(n, m) for n, step in enumerate(data["steps"], 1) for _, text in fields(step) for m in mentions(text)}
    stale = [f"step {c.step}: {c.mention}" for c in CLAIMS if (c.step, c.mention) not in stated]
    assert not stale, f"claims no step states (remove them or fix the mention): {stale}"
    assert len({(c.step, c.mention) for c in CLAIMS}) == len(CLAIMS), "a claim is listed twice"


BEHAVIOUR_CASES = [(n, what, check) for n, entries in BEHAVIOUR.items() for what, check in entries]


@pytest.mark.parametrize(("n", "what", "check"), BEHAVIOUR_CASES, ids=[f"step{n}:{w}" for n, w, _ in BEHAVIOUR_CASES])
def test_behaviour_the_step_describes(n: int, what: str, check: Any, lesson: Lesson) -> None:
    check(lesson.steps[n - 1])


def test_every_answer_is_checked_against_the_engine(lesson: Lesson) -> None:
    """A choice question's answer by a behaviour check; a number answer by a claim of its step (which trains)."""
    claimed = {(c.step, c.mention) for c in CLAIMS}
    for n, step in enumerate(lesson.steps, 1):
        q = step.question
        if q is None:
            continue
        if q.kind == "choice":
            assert BEHAVIOUR.get(n), f"step {n}: no behaviour check for its answer {q.answer!r}"
            assert q.answer == ANSWERS.get(n), f"step {n}: its answer {q.answer!r} is not what its check supports"
        else:
            assert (n, format(q.answer, "g")) in claimed, f"step {n}: its answer {q.answer} is not a claim"


def test_the_scanner_reads_every_kind_of_number() -> None:
    text = ("At ε = 0.10 the gap is `ln(1 + K(1 − ε)/ε)` = ln 28 ≈ 3.33; [0.05, 0.9] in class 0, 20% flipped, "
            "3,000 steps. Names are not numbers: p1, CIFAR-100, z_k, H(q′), ‖w̃_k‖².")
    assert list(mentions(text)) == ["ε = 0.10", "`ln(1 + K(1 − ε)/ε)`", "ln 28", "3.33", "[0.05, 0.9]", "class 0",
                                    "20%", "3,000"]
    assert [canonical(m) for m in ("ε = 0.10", "[0.05, 0.90]", "20%", "3,000", "class 0")] == [
        "ε=0.1", "[0.05,0.9]", "20%", "3000", "class=0"]
    assert list(mentions("`−Σ q′_i log p_i` and `p_T = softmax(z/T)`")) == []  # formulas without a digit


def test_a_number_that_drifts_from_the_engine_is_caught() -> None:
    """Change the loss floor a step states, or add a number the engine does not give: the scan names both."""
    data = raw(DATA / f"{BUILT_IN}.toml")
    step = data["steps"][2]
    step["question"]["why"] = step["question"]["why"].replace("0.291", "0.300")
    step["look_for"] += " Expect about 42 wrong points."
    parsed = parse_lesson(BUILT_IN, data, "drifted.toml")
    assert unchecked(BUILT_IN, 3, step, parsed.steps[2]) == ["look_for: 42", "question.why: 0.300"]
