"""The diagnose report against independent references (issue 23): ECE = torchmetrics' MulticlassCalibrationError
(15 bins) to 1e-6, the temperature within 1 % of an LBFGS fit, accuracy and NLL exact, the projection keeping the
templates' distances and every point's logit differences among the three classes (1e-5); gap, spread and
similar-class share against numpy written from their definitions (docs/diagnose.md, SCIENCE.md §4, §7)."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassCalibrationError

from app.diagnose.reader import DiagnoseError, read_dump
from app.diagnose.report import build_report, parse_classes, report_json
from tests.support.diagnose import network, npz_bytes

# the keys the issue lists, at least
KEYS = {"classes", "accuracy", "nll", "ece", "temperature", "ece_after_temperature", "gap", "spread", "projection"}


def report_of(arrays: dict[str, np.ndarray], **options: Any) -> dict[str, Any]:
    return build_report(read_dump(npz_bytes(arrays)), **options)


def logits(arrays: dict[str, np.ndarray], prefix: str = "") -> np.ndarray:
    """z = x Wᵀ + b in float64, from the file's arrays."""
    x = arrays[f"{prefix}features"].astype(np.float64)
    return x @ arrays["weight"].astype(np.float64).T + arrays["bias"].astype(np.float64)


@pytest.fixture(scope="module")
def confident() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Over-confident: the fitted temperature lies well inside its bounds."""
    arrays = network(k=5, d=7, scale=3.0, seed=1)
    return arrays, report_of(arrays, eps=0.1)


def test_the_report_has_the_issues_keys_and_is_strict_json(confident: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, report = confident
    assert set(report) >= KEYS
    assert {"mean", "per_class", "theory"} <= set(report["gap"])
    assert {"train", "train_index", "train_labels", "templates"} <= set(report["projection"])

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    assert json.loads(report_json(report), parse_constant=no_constants) == report


def test_ece_equals_torchmetrics(confident: tuple[dict[str, Any], dict[str, Any]]) -> None:
    arrays, report = confident
    z, y = torch.from_numpy(logits(arrays, "val_")), torch.from_numpy(arrays["val_labels"])
    metric = MulticlassCalibrationError(num_classes=5, n_bins=15, norm="l1")
    assert report["ece"] == pytest.approx(float(metric(z.softmax(-1), y)), abs=1e-6)
    metric.reset()
    scaled = float(metric((z / report["temperature"]).softmax(-1), y))
    assert report["ece_after_temperature"] == pytest.approx(scaled, abs=1e-6)
    assert report["ece"] > 0.05 and report["ece_after_temperature"] < report["ece"]  # not a vacuous comparison


def lbfgs_temperature(z: torch.Tensor, y: torch.Tensor) -> float:
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def test_temperature_within_one_percent_of_lbfgs(confident: tuple[dict[str, Any], dict[str, Any]]) -> None:
    arrays, report = confident
    z, y = torch.from_numpy(logits(arrays, "val_")), torch.from_numpy(arrays["val_labels"])
    reference = lbfgs_temperature(z, y)
    assert 1.2 < reference < 10  # an interior optimum: over-confident logits
    assert report["temperature"] == pytest.approx(reference, rel=0.01)
    assert not report["temperature_at_bound"]
    assert report["nll_after_temperature"] == pytest.approx(float(F.cross_entropy(z / report["temperature"], y)))


def test_accuracy_and_nll_exact(confident: tuple[dict[str, Any], dict[str, Any]]) -> None:
    arrays, report = confident
    z, y = logits(arrays, "val_"), arrays["val_labels"]
    assert report["accuracy"] == np.mean(z.argmax(axis=1) == y)
    assert report["train_accuracy"] == np.mean(logits(arrays).argmax(axis=1) == arrays["labels"])
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    assert report["nll"] == pytest.approx(-np.mean(log_p[np.arange(len(y)), y]), rel=1e-12)
    assert report["evaluated_on"] == "validation"


@pytest.mark.parametrize(("k", "d"), [(3, 2), (5, 7), (10, 64)])
def test_the_projection_keeps_template_distances_and_logit_differences(k: int, d: int) -> None:
    """The plane's defining property: distances between the three templates, and for every point
    z_a − z_b = ½(‖w̃_a‖² − ‖w̃_b‖²) − ½(‖P(x̃) − P(w̃_a)‖² − ‖P(x̃) − P(w̃_b)‖²)."""
    arrays = network(k=k, d=d, n=300, v=90, seed=k)
    report = report_of(arrays, points_per_class=1000)
    proj = report["projection"]
    chosen = proj["classes"]
    w_aug = np.hstack([arrays["weight"], arrays["bias"][:, None]]).astype(np.float64)[chosen]  # (3, d + 1)
    t = np.array(proj["templates"])
    for a, b in itertools.combinations(range(3), 2):
        assert np.linalg.norm(t[a] - t[b]) == pytest.approx(np.linalg.norm(w_aug[a] - w_aug[b]), abs=1e-5)
    norms = (w_aug**2).sum(axis=1)
    for prefix, key in (("", "train"), ("val_", "val")):
        z = logits(arrays, prefix)[np.array(proj[f"{key}_index"])][:, chosen]  # (S, 3)
        p = np.array(proj[key])
        assert len(p) == sum(int((arrays[f"{prefix}labels"] == c).sum()) for c in chosen)  # every point: 1000 > n_c
        sq = ((p[:, None, :] - t[None]) ** 2).sum(axis=-1)  # (S, 3)
        for a, b in itertools.combinations(range(3), 2):
            from_plane = 0.5 * (norms[a] - norms[b]) - 0.5 * (sq[:, a] - sq[:, b])
            np.testing.assert_allclose(from_plane, z[:, a] - z[:, b], atol=1e-5, rtol=0)


def test_points_are_sampled_per_class_with_the_seed() -> None:
    arrays = network(k=4, n=400, v=0)
    first = report_of(arrays, classes="0,1,2", points_per_class=30, seed=3)["projection"]
    again = report_of(arrays, classes="0,1,2", points_per_class=30, seed=3)["projection"]
    other = report_of(arrays, classes="0,1,2", points_per_class=30, seed=4)["projection"]
    assert first == again and first["train_index"] != other["train_index"]
    index, labels = np.array(first["train_index"]), np.array(first["train_labels"])
    np.testing.assert_array_equal(arrays["labels"][index], labels)
    assert [int((labels == c).sum()) for c in (0, 1, 2)] == [30, 30, 30]
    assert len(set(first["train_index"])) == 90
    pred = logits(arrays)[index].argmax(axis=1)
    assert first["train_pred"] == pred.tolist()
    assert first["val"] == [] and first["val_index"] == []


def test_the_default_classes_are_the_three_it_confuses_most() -> None:
    """Ten classes far apart, except 2 and 5 (nearly the same) and 7 (close to both)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 12)) * 6
    centres[5] = centres[2] + 0.3
    centres[7] = (centres[2] + centres[5]) / 2 + 2.0
    weight = centres.astype(np.float32)
    y = np.arange(600) % 10
    x = centres[y] + rng.normal(size=(600, 12))
    arrays = {"features": x.astype(np.float32), "labels": y, "weight": weight,
              "bias": (-0.5 * (centres**2).sum(axis=1)).astype(np.float32)}
    report = report_of(arrays)
    assert report["classes"] == [2, 5, 7] and report["classes_chosen"] == "most confused"
    assert report["confused_pairs"][0]["pair"] == [2, 5]
    assert report["similar_share"]["pair"] == [2, 5]


def test_gap_spread_and_share_against_their_definitions() -> None:
    arrays = network(k=4, d=6, n=240, v=0, scale=1.5)
    eps = 0.2
    report = report_of(arrays, eps=eps)
    z, y = logits(arrays), arrays["labels"]
    k = 4
    gaps = np.array([[z[i, y[i]] - z[i, j] for j in range(k) if j != y[i]] for i in range(len(y))])  # (N, K − 1)
    assert report["gap"]["mean"] == pytest.approx(gaps.mean())
    assert report["gap"]["std"] == pytest.approx(gaps.std())
    for c in range(k):
        assert report["gap"]["per_class"][c] == pytest.approx(gaps[y == c].mean())
        assert report["gap"]["per_class_std"][c] == pytest.approx(gaps[y == c].std())
    assert report["gap"]["theory"] == pytest.approx(math.log(1 + k * (1 - eps) / eps))
    x_aug = np.hstack([arrays["features"], np.ones((len(y), 1))]).astype(np.float64)
    w_aug = np.hstack([arrays["weight"], arrays["bias"][:, None]]).astype(np.float64)
    dist = np.linalg.norm(x_aug[:, None, :] - w_aug[None], axis=-1)  # (N, K)
    wrong = np.array([[dist[i, j] for j in range(k) if j != y[i]] for i in range(len(y))])  # (N, K − 1)
    unequal = (wrong**2).max(axis=1) - (wrong**2).min(axis=1)
    margin = (wrong**2).mean(axis=1) - dist[np.arange(len(y)), y] ** 2
    assert report["spread"] == pytest.approx(unequal.sum() / margin.sum())
    assert report["spread_per_class"][2] == pytest.approx(unequal[y == 2].sum() / margin[y == 2].sum())
    assert report["distances"]["correct"] == pytest.approx(dist[np.arange(len(y)), y].mean())
    assert report["distances"]["wrong"] == pytest.approx(wrong.mean())
    a, b = report["similar_share"]["pair"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.flatnonzero((y == a) | (y == b))
    other = np.where(y[rows] == a, b, a)
    share = p[rows, other].sum() / (1 - p[rows, y[rows]]).sum()
    assert report["similar_share"]["share"] == pytest.approx(share)
    assert report["similar_share"]["even"] == pytest.approx(1 / 3)


def test_with_three_classes_the_spread_reads_the_same_off_the_plane() -> None:
    """Differences of squared distances are the plane's: the spread from the 2-D points equals the report's."""
    arrays = network(k=3, d=9, n=150, v=0, scale=2.0)
    report = report_of(arrays, points_per_class=1000)
    proj = report["projection"]
    p, t = np.array(proj["train"]), np.array(proj["templates"])
    y = np.array(proj["train_labels"])
    sq = ((p[:, None, :] - t[None]) ** 2).sum(axis=-1)  # (N, 3), classes 0, 1, 2
    rows = np.arange(len(y))
    da, db = sq[rows, (y + 1) % 3], sq[rows, (y + 2) % 3]
    spread = np.abs(da - db).sum() / ((da + db) / 2 - sq[rows, y]).sum()
    assert report["spread"] == pytest.approx(spread, rel=1e-9)


def test_without_validation_calibration_uses_the_training_set() -> None:
    arrays = network(k=4, v=0)
    report = report_of(arrays)
    assert report["evaluated_on"] == "training" and report["n_val"] == 0
    assert report["accuracy"] == report["train_accuracy"]
    assert report["gap"]["val_mean"] is None and report["gap"]["theory"] is None


def test_eps_zero_has_no_finite_theory() -> None:
    assert report_of(network(k=3), eps=0.0)["gap"]["theory"] is None


def test_classes_by_name_or_index() -> None:
    names = ["cat", "dog", "fox", "owl"]
    assert parse_classes("fox, cat,3", names) == [0, 2, 3]
    assert parse_classes(["1", "2", "owl"], names) == [1, 2, 3]
    report = report_of(network(k=4, names=True), classes="kind 3,kind 0,1")
    assert report["classes"] == [0, 1, 3] and report["classes_chosen"] == "given"


@pytest.mark.parametrize(("spec", "sentence"), [
    ("1,2", "Give three classes, separated by commas (e.g. 3,5,8); got 2."),
    ("1,2,3,0", "Give three classes, separated by commas (e.g. 3,5,8); got 4."),
    ("1,1,2", "The three classes must be different."),
    ("1,2,9", "'9' is not one of the file's classes: an index 0..3 or a name."),
    ("cat,1,2", "'cat' is not one of the file's classes: an index 0..3 or a name."),
    ("-1,1,2", "'-1' is not one of the file's classes: an index 0..3 or a name."),
])
def test_bad_classes_are_a_sentence(spec: str, sentence: str) -> None:
    with pytest.raises(DiagnoseError) as caught:
        report_of(network(k=4), classes=spec)
    assert str(caught.value) == sentence


@pytest.mark.parametrize(("options", "sentence"), [
    ({"eps": 1.5}, "ε must be between 0 and 1, got 1.5."),
    ({"eps": float("nan")}, "ε must be between 0 and 1, got nan."),
    ({"points_per_class": 0}, "Points per class must be between 1 and 2000, got 0."),
    ({"seed": -2}, "The seed must be between 0 and 4294967295, got -2."),
])
def test_bad_settings_are_a_sentence(options: dict[str, Any], sentence: str) -> None:
    with pytest.raises(DiagnoseError) as caught:
        report_of(network(k=3), **options)
    assert str(caught.value) == sentence
