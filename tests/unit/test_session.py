"""app/engine/session.py: the twin and the ε sweep, live changes, batches, divergence, and what training reaches.

The theory tests make visible what the blog post derives (§5, Eq 3–5; app/engine/loss.py): with ε = 0.1 on
well-separated blobs the train logit gap stops at ln 28 ≈ 3.332 and the loss at its floor 0.291; with ε = 0
the gap keeps growing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import app.engine.batch as batch_module
import app.engine.session as session_module
from app.engine.loss import loss_floor, optimal_logit_gap
from app.engine.session import TrainingSession
from app.protocol.messages import RunConfig
from tests.reference import measure as R
from tests.reference.geometry import distance_summary, project_to_template_plane, template_distances
from tests.support.geometry import pairwise

LN28 = math.log(28)
SWEEP = [0.0, 0.05, 0.1, 0.2, 0.3]


def cfg(**changes: Any) -> RunConfig:
    return RunConfig(device="cpu", **changes)


def weights(s: TrainingSession) -> list[np.ndarray]:
    """Every model's parameters, (M, ...) each, as numpy copies."""
    return [v.detach().clone().numpy() for v in (s.bank.w1, s.bank.b1, s.bank.w2, s.bank.b2, s.bank.w3, s.bank.b3)]


def assert_snapshots_equal(a: session_module.Snapshot, b: session_module.Snapshot) -> None:
    assert a.step == b.step
    for name in ("labels", "true_labels", "flipped"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for ra, rb in zip(a.runs, b.runs, strict=True):
        assert ra.name == rb.name and ra.eps == rb.eps
        assert ra.metrics == rb.metrics
        for name in ("points", "templates", "class_distances", "probs"):
            np.testing.assert_array_equal(getattr(ra, name), getattr(rb, name), err_msg=name)


@pytest.fixture(scope="module")
def twin_3000() -> tuple[dict[str, Any], dict[str, Any]]:
    """The default twin (ε = 0 and 0.1) on well-separated blobs: metrics at 1500 and 3000 steps."""
    s = TrainingSession(cfg())
    assert s.step(1500) == 1500
    half = s.run_metrics()
    assert s.step(1500) == 1500
    return half, s.run_metrics()


# ---- theory (the blog post's §5) ---------------------------------------------------------------------
def test_twin_reaches_the_optimal_gap_and_the_loss_floor(twin_3000: tuple[dict[str, Any], dict[str, Any]]) -> None:
    half, full = twin_3000
    smoothed, baseline = full["smoothed"], full["baseline"]
    assert smoothed["eps"] == 0.1 and smoothed["steps"] == 3000
    assert smoothed["optimal_logit_gap"] == pytest.approx(LN28)
    assert smoothed["loss_floor"] == pytest.approx(0.291, abs=5e-4)
    assert abs(smoothed["logit_gap"] - LN28) / LN28 < 0.05
    assert abs(smoothed["train_loss"] - 0.291) < 0.01
    assert smoothed["train_loss"] >= loss_floor(0.1, 3) - 1e-5  # nothing beats the floor
    # without smoothing the gap has no optimum: it passes 8 and is still growing
    assert baseline["optimal_logit_gap"] is None and baseline["loss_floor"] == 0.0
    assert baseline["logit_gap"] > 8
    assert baseline["logit_gap"] > half["baseline"]["logit_gap"] + 0.5
    # while the smoothed gap has stopped where theory says
    assert abs(half["smoothed"]["logit_gap"] - full["smoothed"]["logit_gap"]) < 0.05 * LN28
    assert baseline["train_acc"] > 0.95 and smoothed["train_acc"] > 0.95


def test_sweep_gaps_follow_theory_for_every_eps() -> None:
    s = TrainingSession(cfg(), sweep_eps=SWEEP)
    s.step(3000)
    runs = s.run_metrics()
    assert list(runs) == ["eps=0", "eps=0.05", "eps=0.1", "eps=0.2", "eps=0.3"]
    for eps, m in zip(SWEEP, runs.values(), strict=True):
        assert m["eps"] == eps
        if eps == 0:
            assert m["optimal_logit_gap"] is None and m["logit_gap"] > 8
            continue
        theory = optimal_logit_gap(eps, 3)
        assert m["optimal_logit_gap"] == pytest.approx(theory)
        assert abs(m["logit_gap"] - theory) / theory < 0.05, f"ε={eps}: gap {m['logit_gap']:.3f} vs {theory:.3f}"
        assert abs(m["train_loss"] - loss_floor(eps, 3)) < 0.01
    gaps = [m["logit_gap"] for m in runs.values()]
    assert gaps == sorted(gaps, reverse=True)  # more smoothing, smaller gap


def test_set_eps_midway_moves_the_smoothed_run_to_the_new_optimum(
    twin_3000: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    s = TrainingSession(cfg(eps=0.1))
    s.step(700)
    s.set_eps(0.3)
    at_switch = s.run_metrics()
    assert at_switch["smoothed"]["eps"] == 0.3 and at_switch["smoothed"]["steps"] == 700  # no reset
    assert at_switch["smoothed"]["loss_floor"] == pytest.approx(loss_floor(0.3, 3))
    s.step(800)
    after = s.run_metrics()
    theory = optimal_logit_gap(0.3, 3)
    assert abs(after["smoothed"]["logit_gap"] - theory) / theory < 0.05
    assert abs(after["smoothed"]["train_loss"] - loss_floor(0.3, 3)) < 0.01
    # the baseline never noticed: it matches the untouched twin's baseline at the same step (1500)
    untouched = twin_3000[0]["baseline"]
    assert after["baseline"]["steps"] == untouched["steps"] == 1500
    for key in ("train_loss", "logit_gap", "val_loss", "dist_correct"):
        assert after["baseline"][key] == pytest.approx(untouched[key], rel=1e-5, abs=1e-7), key


# ---- the bank equals separately trained models ----------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_sweep_bank_equals_separately_trained_models(optimizer: str) -> None:
    lr = 0.01 if optimizer == "adam" else 0.05
    bank = TrainingSession(cfg(optimizer=optimizer, lr=lr), sweep_eps=SWEEP)
    bank.step(200)
    together = weights(bank)
    metrics = list(bank.run_metrics().values())
    for m, eps in enumerate(SWEEP):
        alone = TrainingSession(cfg(optimizer=optimizer, lr=lr), sweep_eps=[eps])
        alone.step(200)
        for got, want in zip(together, weights(alone), strict=True):
            np.testing.assert_allclose(got[m], want[0], atol=1e-5, rtol=0, err_msg=f"{optimizer} ε={eps}")
        alone_metrics = alone.run_metrics()[f"eps={eps:g}"]
        for key in ("train_loss", "val_loss", "logit_gap", "train_acc"):
            assert metrics[m][key] == pytest.approx(alone_metrics[key], abs=1e-5), key
    assert not np.allclose(together[4][0], together[4][-1], atol=1e-3)  # ε did change the runs


def test_twin_is_the_two_model_sweep() -> None:
    twin = TrainingSession(cfg(eps=0.2))
    sweep = TrainingSession(cfg(eps=0.2), sweep_eps=[0.0, 0.2])
    twin.step(100)
    sweep.step(100)
    for a, b in zip(weights(twin), weights(sweep), strict=True):
        np.testing.assert_array_equal(a, b)
    assert twin.names == ["baseline", "smoothed"] and sweep.names == ["eps=0", "eps=0.2"]


# ---- determinism ----------------------------------------------------------------------------------------
def test_same_seed_same_snapshots_other_seed_other_snapshots() -> None:
    a, b, c = (TrainingSession(cfg(seed=s, label_noise=0.1)) for s in (3, 3, 4))
    for s in (a, b, c):
        s.step(60)
    snap_a, snap_b, snap_c = a.snapshot(regions=True), b.snapshot(regions=True), c.snapshot(regions=True)
    assert_snapshots_equal(snap_a, snap_b)
    for ra, rb in zip(snap_a.runs, snap_b.runs, strict=True):
        assert ra.region_class is not None and rb.region_class is not None
        np.testing.assert_array_equal(ra.region_class, rb.region_class)
    a.step(20)
    b.step(20)
    assert_snapshots_equal(a.snapshot(), b.snapshot())  # still in lockstep later on
    assert snap_a.runs[1].metrics != snap_c.runs[1].metrics
    assert not np.array_equal(snap_a.runs[1].points, snap_c.runs[1].points)


# ---- live changes ----------------------------------------------------------------------------------------
def test_baseline_does_not_depend_on_the_smoothed_eps() -> None:
    low, high = TrainingSession(cfg(eps=0.05)), TrainingSession(cfg(eps=0.4))
    low.step(150)
    high.step(150)
    w_low, w_high = weights(low), weights(high)
    for a, b in zip(w_low, w_high, strict=True):
        np.testing.assert_allclose(a[0], b[0], atol=1e-6, rtol=0)  # baseline: the same run
    assert not np.allclose(w_low[4][1], w_high[4][1], atol=1e-3)  # smoothed: different runs
    m_low, m_high = low.run_metrics()["baseline"], high.run_metrics()["baseline"]
    for key in ("train_loss", "val_loss", "logit_gap", "ece", "dist_correct", "incorrect_spread"):
        assert m_low[key] == pytest.approx(m_high[key], rel=1e-5, abs=1e-7), key


def test_set_eps_takes_effect_at_the_next_step_without_reset() -> None:
    changed, kept = TrainingSession(cfg(eps=0.1)), TrainingSession(cfg(eps=0.1))
    changed.step(50)
    kept.step(50)
    changed.set_eps(0.4)
    for a, b in zip(weights(changed), weights(kept), strict=True):  # setting ε alone moves nothing
        np.testing.assert_array_equal(a, b)
    assert changed.step_count == 50 and changed.eps_values == [0.0, 0.4]
    changed.step(1)
    kept.step(1)
    after_changed, after_kept = weights(changed), weights(kept)
    for a, b in zip(after_changed, after_kept, strict=True):
        np.testing.assert_array_equal(a[0], b[0])  # baseline: same step
    assert not np.array_equal(after_changed[4][1], after_kept[4][1])  # smoothed: ε = 0.4 acted
    assert changed.step_count == 51
    snap = changed.snapshot()
    assert snap.runs[1].eps == 0.4 and snap.runs[1].metrics["eps"] == 0.4 and snap.runs[0].eps == 0.0


def test_set_eps_and_set_lr_validate() -> None:
    s = TrainingSession(cfg())
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="ε must be between 0 and 1"):
            s.set_eps(bad)
    for bad in (0.0, -1.0, 11.0):
        with pytest.raises(ValueError, match="learning rate"):
            s.set_lr(bad)
    assert s.eps_values == [0.0, 0.1] and s.lr == 0.01
    s.set_lr(0.05)
    assert s.lr == 0.05 and all(g["lr"] == 0.05 for g in s.opt.param_groups)
    sweep = TrainingSession(cfg(), sweep_eps=[0.0, 0.1])
    with pytest.raises(ValueError, match="sweep"):
        sweep.set_eps(0.2)


def test_reset_starts_again_from_step_zero() -> None:
    s = TrainingSession(cfg(seed=1))
    fresh = weights(TrainingSession(cfg(seed=1)))
    s.step(30)
    s.reset(cfg(seed=1))
    assert s.step_count == 0
    for a, b in zip(weights(s), fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    s.reset(cfg(dataset="iris", hidden=8, penultimate=4))
    assert s.data.input_dim == 4 and s.bank.w3.shape == (2, 3, 4) and s.step_count == 0


# ---- batches -------------------------------------------------------------------------------------------
@pytest.fixture
def recorded_batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (x, y) minibatch the session trains on (its first model's: all its models see the same),
    recorded where each step's gradient is computed."""
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    real = batch_module.backward_rows

    def recording(params: Any, grad: Any, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        torch.testing.assert_close(x[0], x[-1])  # every model of the session sees the same minibatch
        seen.append((x[0].numpy().copy(), y[0].numpy().copy()))
        return real(params, grad, x, y, eps)

    monkeypatch.setattr(batch_module, "backward_rows", recording)
    return seen


def test_ordered_batches_walk_class_zero_then_one_then_two(
    recorded_batches: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    s = TrainingSession(cfg(ordered=True, batch_size=128))
    n = s.data.y_train.size  # 600: 200 per class
    s.step(10)  # a bit over two epochs
    assert [y.size for _, y in recorded_batches] == [128] * 10
    labels = np.concatenate([y for _, y in recorded_batches])
    first = labels[:n]
    assert (np.diff(first) >= 0).all() and first[0] == 0 and first[-1] == 2
    np.testing.assert_array_equal(np.bincount(first), np.bincount(s.data.y_train))
    np.testing.assert_array_equal(labels[n : 2 * n], first)  # the next epoch walks the same way
    assert (recorded_batches[0][1] == 0).all()  # the first batch is all class 0


def epochs_of(batches: list[tuple[np.ndarray, np.ndarray]], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    xs = np.concatenate([x for x, _ in batches])
    ys = np.concatenate([y for _, y in batches])
    return [(xs[e * n : (e + 1) * n], ys[e * n : (e + 1) * n]) for e in range(len(ys) // n)]


def test_shuffled_batches_see_every_point_once_per_epoch(
    recorded_batches: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    s = TrainingSession(cfg(batch_size=128))
    n = s.data.y_train.size
    s.step(10)  # two epochs of 600 points and a bit
    train = {tuple(row): int(label) for row, label in zip(s.data.x_train.tolist(), s.data.y_train, strict=True)}
    for xs, ys in epochs_of(recorded_batches, n):
        rows = [tuple(r) for r in xs.tolist()]
        assert len(set(rows)) == n and set(rows) == set(train)  # every point exactly once
        assert [train[r] for r in rows] == ys.tolist()  # with its own label
        assert not (np.diff(ys) >= 0).all()  # shuffled, not walked in class order


@pytest.mark.parametrize("batch_size", [128, 100])
def test_each_epoch_is_a_fresh_permutation(
    recorded_batches: list[tuple[np.ndarray, np.ndarray]], batch_size: int
) -> None:
    """Shuffled per epoch (session.py), also when the batch size divides the number of points."""
    s = TrainingSession(cfg(batch_size=batch_size))
    n = s.data.y_train.size
    s.step(-(-3 * n // batch_size))  # three epochs
    first, second, third = epochs_of(recorded_batches, n)[:3]
    assert not np.array_equal(first[0], second[0]), f"batch {batch_size}: epoch 2 repeats epoch 1's order"
    assert not np.array_equal(second[0], third[0]), f"batch {batch_size}: epoch 3 repeats epoch 2's order"


def test_full_batch_uses_every_point_each_step(recorded_batches: list[tuple[np.ndarray, np.ndarray]]) -> None:
    s = TrainingSession(cfg(batch_size=5000))
    s.step(2)
    for x, y in recorded_batches:
        np.testing.assert_array_equal(x, s.data.x_train)
        np.testing.assert_array_equal(y, s.data.y_train)


# ---- divergence ------------------------------------------------------------------------------------------
def test_divergence_stops_training_with_a_clear_message() -> None:
    s = TrainingSession(cfg(optimizer="sgd", lr=10.0, weight_decay=1.0))
    taken = s.step(500)
    assert s.diverged is not None
    assert taken < 500 and s.step_count == taken
    assert s.diverged == (
        f"training diverged at step {taken + 1} (learning rate too high?); reset or lower it"
    )
    snap = s.snapshot(regions=True)
    assert snap.diverged == s.diverged
    for run in snap.runs:
        for key, value in run.metrics.items():
            assert value is None or math.isfinite(value), f"{run.name}.{key} = {value}"
        for name in ("points", "templates", "class_distances", "probs"):
            assert np.isfinite(getattr(run, name)).all(), name
    assert s.step(5) == 0 and s.step_count == taken  # stays stopped
    s.set_lr(0.01)  # a new learning rate clears it and training goes on
    assert s.diverged is None
    assert s.step(5) == 5 and s.step_count == taken + 5
    assert all(math.isfinite(m["train_loss"]) for m in s.run_metrics().values())


# ---- snapshot contents against the reference functions ------------------------------------------------------
def test_snapshot_metrics_match_reference_computations() -> None:
    s = TrainingSession(cfg(eps=0.2, label_noise=0.2, seed=2))
    s.step(120)
    snap = s.snapshot()
    acts, logits_tr = s.bank(s.x_train)
    _, logits_va = s.bank(s.x_val)
    w, b = s.bank.templates()
    y_tr, y_va = s.y_train, s.y_val
    di = s.display_idx
    v = y_va.numel()
    assert snap.step == 120 and [r.name for r in snap.runs] == ["baseline", "smoothed"]
    np.testing.assert_array_equal(snap.labels, s.data.y_train[di])
    np.testing.assert_array_equal(snap.true_labels, s.data.y_true[di])
    np.testing.assert_array_equal(snap.flipped, s.data.flipped[di])
    assert snap.flipped.any()
    for m, run in enumerate(snap.runs):
        eps = s.eps_values[m]
        lt, lv = logits_tr[m].double(), logits_va[m].double()
        got = run.metrics

        def close(key: str, want: float, tol: float = 1e-5) -> None:
            assert got[key] == pytest.approx(want, rel=tol, abs=tol), f"{run.name}.{key}"  # noqa: B023

        close("train_loss", F.cross_entropy(lt, y_tr, label_smoothing=eps).item())
        close("val_loss", F.cross_entropy(lv, y_va, label_smoothing=eps).item())
        close("val_nll", F.cross_entropy(lv, y_va).item())
        close("train_acc", (lt.argmax(1) == y_tr).double().mean().item())
        close("train_acc_clean", (lt.argmax(1) == torch.as_tensor(s.data.y_true)).double().mean().item())
        close("val_acc", (lv.argmax(1) == y_va).double().mean().item())
        probs_va = torch.softmax(lv, dim=1).numpy()
        close("ece", R.expected_calibration_error(probs_va, y_va.numpy()))
        close("mean_confidence", probs_va.max(axis=1).mean())
        close("logit_gap", R.logit_gap(lt.numpy(), y_tr.numpy()))
        close("val_logit_gap", R.logit_gap(lv.numpy(), y_va.numpy()))
        dists = template_distances(acts[m], w[m], b[m])
        for key, want in distance_summary(dists, y_tr.numpy()).items():
            close(key, want, 1e-4)
        close("loss_floor", loss_floor(eps, 3))
        for c in range(3):
            np.testing.assert_allclose(run.class_distances[c], dists[y_tr.numpy() == c].mean(axis=0), rtol=1e-4)
        ref_rel = R.reliability(probs_va, y_va.numpy())
        np.testing.assert_array_equal(run.reliability.count, ref_rel.count)
        assert int(run.reliability.count.sum()) == v
        np.testing.assert_allclose(run.reliability.accuracy, ref_rel.accuracy, atol=1e-6)
        np.testing.assert_allclose(run.reliability.confidence, ref_rel.confidence, atol=1e-5)
        np.testing.assert_allclose(run.probs, torch.softmax(lt, dim=1).numpy()[di], atol=1e-6)
        # the projection equals the reference recipe up to a rotation/reflection of the plane
        ref = project_to_template_plane(acts[m][di], w[m], b[m])
        assert run.points.shape == (di.size, 2) and run.templates.shape == (3, 2)
        got_all = np.vstack([run.points, run.templates]).astype(np.float64)
        ref_all = np.vstack([ref.points, ref.templates])
        np.testing.assert_allclose(pairwise(got_all), pairwise(ref_all), atol=1e-4)
    base = snap.runs[0].metrics
    assert base["temperature"] == pytest.approx(
        R.fit_temperature(logits_va[0].double().numpy(), y_va.numpy()), rel=1e-3
    )
    assert base["val_nll_ts"] <= base["val_nll"] + 1e-6  # T is fitted on validation NLL: never worse
    assert "temperature" not in snap.runs[1].metrics


def test_display_subsample_and_regions() -> None:
    s = TrainingSession(cfg(display_points=300))
    snap = s.snapshot(regions=True)
    assert np.bincount(snap.true_labels).tolist() == [100, 100, 100]  # the paper shows 100 per class
    assert snap.inputs is not None and snap.inputs.shape == (300, 2) and snap.region_extent is not None
    for run in snap.runs:
        assert run.region_class is not None and run.region_conf is not None
        assert run.region_class.shape == (48 * 48,) and set(np.unique(run.region_class)) <= {0, 1, 2}
        assert (run.region_conf >= 1 / 3 - 1e-6).all() and (run.region_conf <= 1 + 1e-6).all()
        np.testing.assert_allclose(run.probs.sum(axis=1), 1.0, atol=1e-5)
    plain = TrainingSession(cfg(dataset="wine")).snapshot(regions=True)
    assert plain.inputs is None and all(r.region_class is None for r in plain.runs)  # not a 2-D dataset
