"""tests/reference/measure.py, the numpy oracle of app/engine/measure.py, checked on its own: ECE and reliability
bins (the paper's §3, after Guo et al. 2017) against hand-computed tables and the textbook loop, temperature
scaling against a grid search, the small functions against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.reference import measure as R


def guo_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Reference ECE written the textbook way: loop over bins (lo, hi], Σ (n_b/N)|acc_b − conf_b|."""
    conf = probs.max(axis=1)
    hit = probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(hit[inside].mean() - conf[inside].mean())
    return total


def softmax(z: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.tensor(z), dim=-1).numpy()


def sample_labels(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = softmax(logits)
    u = rng.random((len(p), 1))
    return (u > p.cumsum(axis=1)).sum(axis=1)


# ---- ECE and reliability ---------------------------------------------------------------------------------
def test_ece_on_a_hand_computed_case() -> None:
    probs = np.array([
        [0.90, 0.05, 0.05],  # confidence 0.90, label 0: right  → bin 13 = (13/15, 14/15]
        [0.04, 0.92, 0.04],  # confidence 0.92, label 0: wrong  → bin 13
        [0.55, 0.25, 0.20],  # confidence 0.55, label 0: right  → bin 8 = (8/15, 9/15]
        [0.30, 0.58, 0.12],  # confidence 0.58, label 1: right  → bin 8
        [0.41, 0.30, 0.29],  # confidence 0.41, label 2: wrong  → bin 6 = (6/15, 7/15]
    ])
    labels = np.array([0, 0, 0, 1, 2])
    # bin 13: n=2, accuracy 0.5, confidence 0.91  → (2/5)·0.41  = 0.164
    # bin 8:  n=2, accuracy 1.0, confidence 0.565 → (2/5)·0.435 = 0.174
    # bin 6:  n=1, accuracy 0.0, confidence 0.41  → (1/5)·0.41  = 0.082
    assert R.expected_calibration_error(probs, labels) == pytest.approx(0.164 + 0.174 + 0.082, abs=1e-12)
    rel = R.reliability(probs, labels)
    expected_count = np.zeros(15, dtype=int)
    expected_count[[6, 8, 13]] = [1, 2, 2]
    np.testing.assert_array_equal(rel.count, expected_count)
    assert rel.accuracy[[6, 8, 13]].tolist() == pytest.approx([0.0, 1.0, 0.5])
    assert rel.confidence[[6, 8, 13]].tolist() == pytest.approx([0.41, 0.565, 0.91])
    assert rel.ece == pytest.approx(0.42, abs=1e-12)
    np.testing.assert_allclose(rel.edges, np.linspace(0, 1, 16))


@pytest.mark.parametrize("seed", range(4))
def test_ece_matches_the_textbook_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    probs = softmax(rng.normal(size=(2000, 3)) * (1 + seed))
    labels = rng.integers(0, 3, 2000)
    assert R.expected_calibration_error(probs, labels) == pytest.approx(guo_ece(probs, labels), abs=1e-12)
    assert R.expected_calibration_error(probs, labels, n_bins=10) == pytest.approx(
        guo_ece(probs, labels, 10), abs=1e-12
    )


def test_reliability_counts_sum_to_n_and_are_nan_free() -> None:
    rng = np.random.default_rng(0)
    probs = softmax(rng.normal(size=(777, 3)) * 3)
    labels = rng.integers(0, 3, 777)
    rel = R.reliability(probs, labels)
    assert rel.count.sum() == 777 and rel.count.shape == (15,)
    assert np.isfinite(rel.confidence).all() and np.isfinite(rel.accuracy).all()
    empty = rel.count == 0
    assert (rel.confidence[empty] == 0).all() and (rel.accuracy[empty] == 0).all()
    full = ~empty
    assert ((rel.confidence[full] > rel.edges[:-1][full]) & (rel.confidence[full] <= rel.edges[1:][full])).all()


def test_bin_edges_belong_to_the_lower_bin_and_confidence_one_to_the_last() -> None:
    probs = np.array([[1.0, 0.0, 0.0], [0.5, 0.25, 0.25], [0.25 + 1e-9, 0.375, 0.375 - 1e-9]])
    labels = np.array([0, 0, 1])
    rel = R.reliability(probs, labels, n_bins=4)  # bins (0, .25], (.25, .5], (.5, .75], (.75, 1]
    assert rel.count.tolist() == [0, 2, 0, 1]
    assert rel.accuracy[3] == 1.0  # the certain, correct prediction: last bin, no gap
    rel15 = R.reliability(probs[:1], labels[:1])
    assert rel15.count[-1] == 1 and rel15.ece == 0.0


def test_a_perfect_confident_model_has_zero_ece_and_an_overconfident_one_does_not() -> None:
    labels = np.arange(30) % 3
    perfect = np.eye(3)[labels]
    assert R.expected_calibration_error(perfect, labels) == 0.0
    wrong = np.eye(3)[(labels + 1) % 3] * 0.97 + 0.01
    assert R.expected_calibration_error(wrong, labels) == pytest.approx(0.98)


# ---- temperature scaling (paper §3) -------------------------------------------------------------------------
def test_fit_temperature_recovers_the_scale_of_an_overconfident_model() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20_000, 3)) * 1.5  # a calibrated model: labels drawn from softmax(z)
    labels = sample_labels(z, rng)
    overconfident = 5.0 * z
    t = R.fit_temperature(overconfident, labels)
    assert t == pytest.approx(5.0, rel=0.10)
    assert R.nll(overconfident / t, labels) < R.nll(overconfident, labels)
    ece_before = R.expected_calibration_error(softmax(overconfident), labels)
    ece_after = R.expected_calibration_error(softmax(overconfident / t), labels)
    assert ece_after < ece_before / 3
    assert R.fit_temperature(z, labels) == pytest.approx(1.0, rel=0.10)  # calibrated already: T ≈ 1


def test_fit_temperature_minimises_the_nll_over_t() -> None:
    rng = np.random.default_rng(2)
    z = rng.normal(size=(3000, 3)) * 4
    labels = sample_labels(z / 2.5, rng)
    t = R.fit_temperature(z, labels)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 601))
    best = grid[np.argmin([R.nll(z / g, labels) for g in grid])]
    assert t == pytest.approx(best, rel=0.01)
    assert R.nll(z / t, labels) <= min(R.nll(z / g, labels) for g in (0.9 * t, 1.1 * t))


# ---- the small functions, against torch ------------------------------------------------------------------
def test_nll_softmax_accuracy_match_torch() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(100, 3)) * 10
    labels = rng.integers(0, 3, 100)
    zt, yt = torch.tensor(z), torch.tensor(labels)
    assert R.nll(z, labels) == pytest.approx(F.cross_entropy(zt, yt).item(), abs=1e-12)
    np.testing.assert_allclose(R.softmax(z), torch.softmax(zt, dim=1).numpy(), atol=1e-15)
    np.testing.assert_allclose(R.log_softmax(z), torch.log_softmax(zt, dim=1).numpy(), atol=1e-12)
    assert R.accuracy(R.softmax(z), labels) == pytest.approx((zt.argmax(1) == yt).double().mean().item())
    huge = np.array([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(R.log_softmax(huge)).all() and R.nll(huge, np.array([2])) == pytest.approx(2000.0)


def test_logit_gap_by_hand() -> None:
    logits = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 2.0], [1.0, 1.0, 4.0]])
    labels = np.array([0, 2, 0])
    # 3 − (1 + 0)/2 = 2.5;  2 − (0 + 2)/2 = 1;  1 − (1 + 4)/2 = −1.5
    assert R.logit_gap(logits, labels) == pytest.approx((2.5 + 1.0 - 1.5) / 3)
    assert R.logit_gap(np.array([[5.0, 1.0]]), np.array([1])) == pytest.approx(-4.0)  # K = 2
