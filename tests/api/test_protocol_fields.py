"""Fields the page acts on, rather than parsing words: the divergence error's code, the runs by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.protocol.messages import DIVERGED


def _errors(s: Any) -> list[dict[str, Any]]:
    return [m for m in s.texts if m.get("type") == "error"]


def test_a_divergence_error_carries_its_code_and_other_errors_do_not(connect: Callable[..., Any]) -> None:
    with connect() as s:
        s.send({"type": "set", "eps": 7})
        s.error()
        assert "code" not in _errors(s)[-1]
        s.send({"type": "reset", "config": {"optimizer": "sgd", "lr": 10, "weight_decay": 1}})
        s.next_text("state")
        s.send({"type": "play"})
        s.error()
        first = _errors(s)[-1]
        assert first["code"] == DIVERGED == "diverged" and first["message"].startswith("training diverged")
        s.next_text("state")
        s.send({"type": "play"})  # refused while diverged: the same code
        s.error()
        assert _errors(s)[-1] == first


def test_runs_are_named_and_the_state_eps_is_the_smoothed_runs(connect: Callable[..., Any]) -> None:
    with connect() as s:
        s.send({"type": "set", "eps": 0.25})
        assert s.next_text("state")["eps"] == 0.25
        s.send({"type": "step", "n": 2})
        frame = s.next_frame(lambda f: f["step"] == 2)
        assert list(frame["runs"]) == ["baseline", "smoothed"]
        assert frame["runs"]["baseline"]["eps"] == 0.0 and frame["runs"]["smoothed"]["eps"] == 0.25
        assert frame["eps"] == 0.25
        s.send({"type": "sweep", "eps": [0.3, 0.0]})
        state = s.next_text("state")
        assert state["eps"] is None and state["sweep_eps"] == [0.3, 0.0]
