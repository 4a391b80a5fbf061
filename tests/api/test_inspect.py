"""The point inspector and links to a moment over the WebSocket: `inspect` and `goto` (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

Connect = Callable[..., Any]
TOL = 1e-4
K = 3


def check_numbers(frame: dict[str, Any], index: int) -> None:
    """The inspected point's numbers agree with each other and with the rest of the frame."""
    info = frame["inspect"]
    assert info["index"] == index
    assert info["label"] == int(frame["arrays"]["labels"][index])
    assert info["true_label"] == int(frame["arrays"]["true_labels"][index])
    assert info["flipped"] == bool(frame["arrays"]["flipped"][index])
    assert len(info["x"]) == 2  # blobs: the point's position in input space
    for run in frame["header_runs"]:
        name, eps = run["name"], run["eps"]
        r = info["runs"][name]
        z, p, q = np.array(r["logits"]), np.array(r["probs"]), np.array(r["target"])
        np.testing.assert_allclose(p, np.exp(z - z.max()) / np.exp(z - z.max()).sum(), rtol=TOL, atol=1e-7)
        np.testing.assert_allclose(q, (1 - eps) * np.eye(K)[info["label"]] + eps / K, rtol=TOL, atol=1e-7)
        assert r["loss"] == pytest.approx(-(q * np.log(p)).sum(), rel=TOL, abs=1e-7)
        # z_k = ½ (‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²): a larger logit is a nearer template, up to its norm
        identity = 0.5 * (np.array(r["template_sq_norms"]) + r["activation_sq_norm"] - np.array(r["distances"]) ** 2)
        np.testing.assert_allclose(identity, z, rtol=TOL, atol=TOL * max(1.0, float(np.abs(z).max())))
        # the same forward pass as the frame's own arrays
        run_arrays = frame["runs"][name]
        assert int(np.argmax(p)) == int(run_arrays["pred"][index])
        assert int(run_arrays["confidence"][index]) == round(255 * float(p.max()))


def with_header_runs(frame: dict[str, Any]) -> dict[str, Any]:
    frame["header_runs"] = [{"name": n, "eps": r["eps"]} for n, r in frame["runs"].items()]
    return frame


@pytest.mark.parametrize("index", [0, 57, 299])
def test_an_inspected_point_carries_its_numbers_in_every_frame(connect: Connect, index: int) -> None:
    with connect() as s:
        s.send({"type": "reset", "config": {"label_noise": 0.2, "seed": 4}})
        s.next_text("state")
        plain = s.step_to(5)
        assert "inspect" not in plain  # frames without an inspected point do not grow
        s.send({"type": "inspect", "index": index})
        assert s.next_text("state")["inspect"] == index
        for n in (1, 20, 3):
            check_numbers(with_header_runs(s.step_to(n)), index)
        s.send({"type": "set", "eps": 0.45})  # a new ε: the smoothed run's target follows at once
        s.next_text("state")
        frame = with_header_runs(s.step_to(2))
        assert frame["runs"]["smoothed"]["eps"] == 0.45
        check_numbers(frame, index)
        s.send({"type": "inspect", "index": None})
        assert s.next_text("state")["inspect"] is None
        assert "inspect" not in s.step_to(1)


def test_a_bad_index_is_refused_and_the_session_goes_on(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "inspect", "index": 300})  # the default run shows points 0 to 299
        assert "0 to 299" in s.error()
        s.send({"type": "inspect", "index": "first"})
        assert "index" in s.error()
        s.send({"type": "inspect", "index": 2})
        assert s.next_text("state")["inspect"] == 2
        check_numbers(with_header_runs(s.step_to(3)), 2)
        s.send({"type": "reset", "config": {"display_points": 30}})  # a new subsample: the inspector lets go
        assert s.next_text("state")["inspect"] is None


def test_goto_fast_forwards_without_frames_and_pauses_there(connect: Connect) -> None:
    with connect() as s:
        s.send({"type": "reset", "config": {"dataset": "blobs", "label_noise": 0.2, "seed": 1}})
        s.next_text("state")
        s.next_frame()
        s.send({"type": "goto", "to": 600})
        state = s.next_text("state")
        assert state["goto"] == 600 and state["playing"] is False
        frame = s.next_frame()
        assert frame["step"] == 600 and frame["playing"] is False  # no frame on the way there
        assert frame["runs"]["baseline"]["steps"] == 600  # every metric measured at that step
        arrived = s.next_text("state")  # and then the state says the goto is over
        assert arrived["goto"] is None and arrived["step"] == 600 and arrived["playing"] is False
        s.send({"type": "goto", "to": 100})
        assert "already at step 600" in s.error()
        s.send({"type": "goto", "to": 20_001})
        assert "20000" in s.error()
        assert s.step_to(1)["step"] == 601  # and it goes on from there


def test_the_same_link_gives_the_same_moment(connect: Connect) -> None:
    frames = []
    for _ in range(2):
        with connect() as s:
            s.send({"type": "reset", "config": {"similarity": 0.5, "seed": 8}})
            s.next_text("state")
            s.send({"type": "goto", "to": 250})
            frames.append(s.next_frame(lambda f: f["step"] == 250))
    a, b = frames
    for name in ("baseline", "smoothed"):
        assert a["runs"][name]["train_loss"] == b["runs"][name]["train_loss"]
        np.testing.assert_array_equal(a["runs"][name]["points"], b["runs"][name]["points"])
