"""Many sessions stepped and snapshotted as one bank (engine/batch.py) equal each session alone.

A session alone is a batch of one through the same code, so these tests compare a group against
copies stepped one by one, through a script of ticks with ε and learning-rate changes, a reset, a
pause (a session that sits a tick out) and a divergence in the middle. Batched matrix products may
round differently from single ones: 1e-5 relative.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from app.engine.batch import snapshot_key, snapshot_sessions, step_sessions, train_key
from app.engine.session import Snapshot, TrainingSession
from app.protocol.messages import RunConfig

REL = 1e-5
ABS = 1e-6


def cfg(**kw: Any) -> RunConfig:
    return RunConfig(**{"device": "cpu", "points": 300, **kw})


def assert_same_snapshot(a: Snapshot, b: Snapshot, where: str) -> None:
    assert a.step == b.step, where
    assert a.diverged == b.diverged, where
    assert [r.name for r in a.runs] == [r.name for r in b.runs], where
    for ra, rb in zip(a.runs, b.runs, strict=True):
        here = f"{where}, run {ra.name}"
        assert set(ra.metrics) == set(rb.metrics), here
        for key, va in ra.metrics.items():
            vb = rb.metrics[key]
            if va is None or vb is None:
                assert va == vb, f"{here}: {key}"
            else:
                assert math.isclose(va, vb, rel_tol=REL, abs_tol=ABS), f"{here}: {key} {va} != {vb}"
        for name in ("points", "templates", "probs", "class_distances"):
            np.testing.assert_allclose(getattr(ra, name), getattr(rb, name), rtol=REL, atol=1e-5,
                                       err_msg=f"{here}: {name}")
        if ra.region_class is not None or rb.region_class is not None:
            assert ra.region_class is not None and rb.region_class is not None, here
            np.testing.assert_allclose(ra.region_conf, rb.region_conf, rtol=REL, atol=ABS, err_msg=here)


Op = Callable[[TrainingSession], None]


def run_script(configs: list[RunConfig], script: list[tuple[int, dict[int, Op]]],
               sweeps: dict[int, list[float]] | None = None) -> list[TrainingSession]:
    """Each tick: apply the ops to both copies of the named sessions, step every session that takes
    part (the rest sit it out) as one group and one by one, then snapshot both ways and compare."""
    sweeps = sweeps or {}
    grouped = [TrainingSession(c, sweeps.get(i)) for i, c in enumerate(configs)]
    alone = [TrainingSession(c, sweeps.get(i)) for i, c in enumerate(configs)]
    for t, (steps, ops) in enumerate(script):
        for i, op in ops.items():
            op(grouped[i])
            op(alone[i])
        taking_part = [i for i in range(len(configs)) if ops.get(i) is not sit_out]
        done_group = step_sessions([grouped[i] for i in taking_part], steps)
        done_alone = [alone[i].step(steps) for i in taking_part]
        assert done_group == done_alone, f"tick {t}: steps taken"
        regions = [t % 2 == 0] * len(taking_part)
        metrics = [t % 3 != 1] * len(taking_part)
        snaps = snapshot_sessions([grouped[i] for i in taking_part], regions, metrics)
        for k, i in enumerate(taking_part):
            assert_same_snapshot(snaps[k], alone[i].snapshot(regions[k], metrics[k]), f"tick {t}, session {i}")
    return grouped


def sit_out(s: TrainingSession) -> None:
    """This session is paused for the tick: not in the group at all."""


def set_eps(e: float) -> Op:
    return lambda s: s.set_eps(e)


def set_lr(lr: float) -> Op:
    return lambda s: s.set_lr(lr)


def reset(**kw: Any) -> Op:
    return lambda s: s.reset(cfg(**kw))


def test_a_group_of_twins_equals_each_twin_alone() -> None:
    configs = [cfg(seed=0), cfg(seed=1, eps=0.3, lr=0.02), cfg(seed=2, similarity=0.6, label_noise=0.2),
               cfg(seed=0, eps=0.05)]
    script: list[tuple[int, dict[int, Op]]] = [
        (3, {}),
        (3, {1: set_eps(0.5)}),
        (5, {0: sit_out, 2: set_lr(0.05)}),
        (3, {3: reset(seed=7, eps=0.2)}),  # same shape: stays in the group from step 0
        (7, {}),
        (1, {1: sit_out, 3: sit_out}),
        (4, {0: set_eps(0.0)}),
    ]
    grouped = run_script(configs, script)
    steps = [s.step_count for s in grouped]
    assert steps == [21, 25, 26, 14]
    # and they are not all the same run: the comparison would pass trivially if the rows were mixed up
    losses = {round(s.run_metrics()["smoothed"]["train_loss"] or 0, 6) for s in grouped}
    assert len(losses) == 4


def test_a_group_with_weight_decay_full_batch_and_ordered_batches() -> None:
    full = [cfg(seed=s, batch_size=300, weight_decay=w) for s, w in ((0, 0.0), (1, 0.01), (2, 0.1))]
    run_script(full, [(4, {}), (4, {1: set_lr(0.03)}), (4, {})])
    ordered = [cfg(seed=0, ordered=True, batch_size=64), cfg(seed=3, batch_size=64, weight_decay=0.001)]
    run_script(ordered, [(5, {}), (11, {}), (3, {0: set_eps(0.4)})])


def test_a_divergence_rolls_back_only_its_session() -> None:
    """SGD at lr 10 blows up within a few steps; its neighbours at lr 0.05 go on as if alone."""
    configs = [cfg(optimizer="sgd", lr=0.05, seed=1), cfg(optimizer="sgd", lr=10.0, seed=2, ordered=True),
               cfg(optimizer="sgd", lr=0.05, seed=3)]
    grouped = run_script(configs, [(3, {}) for _ in range(12)])
    assert grouped[1].diverged and "diverged at step" in grouped[1].diverged
    assert not grouped[0].diverged and not grouped[2].diverged
    assert grouped[0].step_count == grouped[2].step_count == 36
    assert grouped[1].step_count < 36
    flat = grouped[1].bank.flat.detach()
    assert bool(torch.isfinite(flat).all())  # rolled back to weights with a finite loss
    # a new learning rate lets it train again, still next to the others
    run_script(configs, [(3, {}) for _ in range(12)] + [(3, {1: set_lr(0.05)}), (3, {})])


def test_sweeps_group_with_sweeps_of_the_same_size() -> None:
    configs = [cfg(seed=0), cfg(seed=1, points=300)]
    sweeps = {0: [0.0, 0.1, 0.3], 1: [0.0, 0.2, 0.5]}
    run_script(configs, [(3, {}), (5, {}), (2, {})], sweeps)


def test_grouping_by_shape() -> None:
    base = TrainingSession(cfg())
    same = [TrainingSession(cfg(seed=4, eps=0.4, lr=0.03, similarity=0.7, label_noise=0.1, weight_decay=0.01,
                                 ordered=True))]
    other = [
        TrainingSession(cfg(hidden=16)), TrainingSession(cfg(penultimate=4)),
        TrainingSession(cfg(batch_size=64)), TrainingSession(cfg(optimizer="sgd")),
        TrainingSession(cfg(points=600)), TrainingSession(cfg(dataset="digits")),
        TrainingSession(cfg(), [0.0, 0.1, 0.2]),  # three models per session, not two
    ]
    for s in same:
        assert train_key(s) == train_key(base) and snapshot_key(s) == snapshot_key(base)
    for s in other:
        assert train_key(s) != train_key(base)
    # the display size does not change training, only snapshots
    shown = TrainingSession(cfg(display_points=90))
    assert train_key(shown) == train_key(base) and snapshot_key(shown) != snapshot_key(base)
    # a group of mixed shapes is refused, not silently mis-stepped
    with pytest.raises(AssertionError, match="train_key"):
        step_sessions([base, other[0]], 1)


def test_calibration_is_measured_at_the_frames_step() -> None:
    """The temperature and the scaled ECE of a snapshot are those of its step, however often the session
    was snapshotted before: the same session snapshotted every step or only now reports the same."""
    often, rarely = TrainingSession(cfg(seed=5)), TrainingSession(cfg(seed=5))
    for _ in range(30):
        often.step(5)
        often.snapshot()
    rarely.step(150)
    a, b = often.snapshot().runs[0].metrics, rarely.snapshot().runs[0].metrics
    assert a["steps"] == b["steps"] == 150
    for key in ("temperature", "ece_ts", "val_nll_ts"):
        assert a[key] is not None and math.isclose(a[key], b[key] or 0, rel_tol=REL), key
