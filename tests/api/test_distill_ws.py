"""WS /ws, the distillation lab (issue 14, docs/protocol.md): the distill control, its frames, live T and α,
both phases played through, and refusals that keep the session as it was."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(120)

Connect = Callable[..., Any]
NAMES = ["teacher/baseline", "teacher/smoothed", "student/baseline", "student/smoothed"]
LAB = {"type": "distill", "config": {"similarity": 0.5, "display_points": 60}, "teacher_steps": 12, "student_steps": 8}


def start(s: Any, **changes: Any) -> dict[str, Any]:
    s.send({**LAB, **changes})
    state: dict[str, Any] = s.next_text("state")
    return state


def test_the_distill_control_starts_the_lab(connect: Connect) -> None:
    with connect() as s:
        state = start(s, temperature=2.0)
        assert state["mode"] == "distill" and state["step"] == 0 and state["eps"] == 0.1
        assert state["config"]["similarity"] == 0.5
        lab = state["distill"]
        assert lab["phase"] == "teachers" and lab["temperature"] == 2.0 and lab["alpha"] == 0.0
        assert (lab["teacher_steps"], lab["student_steps"], lab["student_hidden"], lab["student_penultimate"]) == (
            12, 8, 8, 4)
        frame = s.next_frame()
        assert frame["mode"] == "distill" and list(frame["runs"]) == NAMES
        assert [r["eps"] for r in frame["runs"].values()] == [0.0, 0.1, 0.0, 0.1]
        assert frame["distill"]["phase"] == "teachers" and frame["distill"]["pair"] == [0, 1]
        point = frame["distill"]["point"]
        assert set(point["log_probs"]) == set(NAMES) and point["label"] == 0
        for log_p in point["log_probs"].values():
            assert math.isclose(sum(math.exp(v) for v in log_p), 1.0, rel_tol=1e-4)
        for run in frame["runs"].values():
            assert run["points"].shape == (60, 2) and run["templates"].shape == (3, 2)
            assert 0 <= run["similar_share"] <= 1 and 0 <= run["val_acc"] <= 1


def test_play_runs_the_teachers_then_the_students_then_stops(connect: Connect) -> None:
    with connect() as s:
        start(s)
        s.send({"type": "set", "speed": 1})  # a step a tick: frames of both phases whatever the reader's pace
        s.send({"type": "play"})
        phases = []
        frame = s.next_frame(lambda f: f["step"] > 0)
        while frame["playing"]:
            phases.append(frame["distill"]["phase"])
            frame = s.next_frame(lambda f, last=frame["step"]: f["step"] > last or not f["playing"])
        assert frame["step"] == 20 and frame["distill"]["phase"] == "done"
        assert (frame["distill"]["teacher_step"], frame["distill"]["student_step"]) == (12, 8)
        assert "teachers" in phases and "students" in phases
        assert phases.index("students") > max(i for i, p in enumerate(phases) if p == "teachers")
        assert frame["runs"]["student/smoothed"]["steps"] == 8 and frame["runs"]["teacher/baseline"]["steps"] == 12
        s.send({"type": "step", "n": 5})  # nothing left to train
        assert s.next_text("state")["step"] == 20


def test_temperature_and_alpha_change_live(connect: Connect) -> None:
    with connect() as s:
        start(s)
        first = s.step_to(12)
        s.send({"type": "set", "temperature": 4.0, "alpha": 0.25})
        state = s.next_text("state")
        assert (state["distill"]["temperature"], state["distill"]["alpha"]) == (4.0, 0.25) and state["step"] == 12
        frame = s.next_frame(lambda f: f["distill"]["temperature"] == 4.0)
        assert frame["distill"]["alpha"] == 0.25
        hot, cold = (f["distill"]["point"]["log_probs"]["teacher/baseline"] for f in (frame, first))
        assert max(hot) - min(hot) < max(cold) - min(cold)  # softer at a higher T, same teacher


def test_eps_changes_while_the_teachers_train_and_is_refused_after(connect: Connect) -> None:
    with connect() as s:
        start(s)
        s.send({"type": "set", "eps": 0.2})
        assert s.next_text("state")["eps"] == 0.2
        s.step_to(12)
        s.send({"type": "set", "eps": 0.3, "lr": 0.02})
        message = s.error()
        assert "teachers finished training at step 12" in message and "restart" in message
        state = s.next_text("state")
        assert state["eps"] == 0.2 and state["lr"] == 0.01  # nothing of that message applied
        assert s.step_to(2)["distill"]["student_step"] == 2


@pytest.mark.parametrize(("payload", "patterns"), [
    ({**LAB, "temperature": 0}, ["temperature", r"0\.1"]),
    ({**LAB, "alpha": 2}, ["alpha", r"\b1\b"]),
    ({**LAB, "teacher_steps": 0}, ["teacher_steps", r"\b1\b"]),
    ({**LAB, "student_hidden": 1000}, ["student_hidden", r"\b512\b"]),
    ({**LAB, "temperature": "hot"}, ["temperature"]),
    ({**LAB, "colour": "red"}, ["colour", "not a setting"]),
    ({**LAB, "config": {"dataset": "mnist"}}, ["dataset", "mnist"]),
    ({**LAB, "config": {"points": 20_000, "hidden": 512, "penultimate": 256}, "student_hidden": 512,
      "student_penultimate": 256}, ["lab too large"]),
    ({"type": "set", "temperature": 2.0}, ["distillation lab"]),
])
def test_bad_distill_controls_get_words_and_change_nothing(connect: Connect, payload: dict[str, Any],
                                                           patterns: list[str]) -> None:
    with connect() as s:
        s.step_to(2)
        s.send(payload)
        message = s.error()
        for pattern in patterns:
            assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
        assert len(message) < 400 and "Traceback" not in message
        frame = s.step_to(1)
        assert frame["step"] == 3 and frame["mode"] == "twin" and list(frame["runs"]) == ["baseline", "smoothed"]


def test_reset_leaves_the_lab_for_the_twin_with_the_teachers_settings(connect: Connect) -> None:
    with connect() as s:
        start(s, config={"seed": 4})
        s.step_to(3)
        s.send({"type": "reset", "config": {}})
        state = s.next_text("state")
        assert state["mode"] == "twin" and "distill" not in state and state["config"]["seed"] == 4
        s.send({"type": "step", "n": 1})  # the twin starts again from step 0
        frame = s.next_frame(lambda f: f["mode"] == "twin" and f["step"] == 1)
        assert list(frame["runs"]) == ["baseline", "smoothed"]
        assert all(np.isfinite(r["points"]).all() for r in frame["runs"].values())
