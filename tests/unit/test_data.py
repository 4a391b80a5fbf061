"""app/engine/data.py: deterministic datasets with the blog's knobs (the blog post's §6), and the bundled tables."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from sklearn import datasets as skd

from app.engine.data import DATASETS, blob_centres, class_order, make_dataset

TABLES = {"digits": (0, 1, 7), "digits-similar": (3, 5, 8), "wine": None, "iris": None}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dataset tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def full_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The reference: scikit-learn's bundled data, the chosen classes, standardized over all rows."""
    if name in ("wine", "iris"):
        bunch = skd.load_wine() if name == "wine" else skd.load_iris()
        x, y = bunch.data.astype(np.float64), bunch.target
    else:
        trio = TABLES[name]
        assert trio is not None
        bunch = skd.load_digits()
        keep = np.isin(bunch.target, trio)
        x = bunch.data[keep].astype(np.float64)
        y = np.array([trio.index(t) for t in bunch.target[keep]])
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0), y


def sorted_rows(x: np.ndarray) -> np.ndarray:
    return x[np.lexsort(x.T[::-1])]


# ---- determinism and shapes ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", DATASETS)
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    a = make_dataset(name, seed=3, label_noise=0.1)
    b = make_dataset(name, seed=3, label_noise=0.1)
    c = make_dataset(name, seed=4, label_noise=0.1)
    for field in ("x_train", "y_train", "x_val", "y_val", "flipped", "y_true"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.flipped, c.flipped)


def test_blob_shapes_and_types() -> None:
    d = make_dataset("blobs", points=600, seed=0)
    assert d.x_train.shape == (600, 2) and d.x_train.dtype == np.float32
    assert d.y_train.shape == (600,) and d.y_train.dtype == np.int64
    assert d.x_val.shape == (300, 2) and d.x_val.dtype == np.float32
    assert d.y_val.shape == (300,) and d.y_val.dtype == np.int64
    assert d.flipped.shape == (600,) and d.flipped.dtype == bool
    assert d.input_dim == 2
    assert set(np.unique(d.y_train)) == {0, 1, 2} and set(np.unique(d.y_val)) == {0, 1, 2}
    assert not d.flipped.any()
    np.testing.assert_array_equal(d.y_train, d.y_true)


def test_blob_train_and_validation_are_disjoint() -> None:
    d = make_dataset("blobs", points=600, seed=1)
    train = {tuple(row) for row in d.x_train.tolist()}
    assert not any(tuple(row) in train for row in d.x_val.tolist())


@pytest.mark.parametrize("name", list(TABLES))
def test_tables_split_is_a_disjoint_partition_of_the_standardized_data(name: str, offline: None) -> None:
    d = make_dataset(name, seed=2)
    x, y = full_table(name)
    assert d.input_dim == x.shape[1]
    assert d.x_train.shape[0] + d.x_val.shape[0] == x.shape[0]
    # train ∪ validation is exactly the data set, each row once: together they are a partition
    ours = np.concatenate([d.x_train, d.x_val]).astype(np.float64)
    np.testing.assert_allclose(sorted_rows(ours), sorted_rows(x), atol=1e-5)
    # labels travel with their rows
    ref = {tuple(np.round(r, 4)): int(c) for r, c in zip(x, y, strict=True)}
    got = [ref[tuple(np.round(r.astype(np.float64), 4))] for r in d.x_val]
    np.testing.assert_array_equal(got, d.y_val)
    for c in range(3):  # stratified: every class in both parts, about 2/3 of it in training
        n_c = int((y == c).sum())
        assert int((d.y_true == c).sum()) == (2 * n_c) // 3
        assert int((d.y_val == c).sum()) == n_c - (2 * n_c) // 3


@pytest.mark.parametrize("name", list(TABLES))
def test_tables_are_standardized(name: str, offline: None) -> None:
    d = make_dataset(name, seed=0)
    x = np.concatenate([d.x_train, d.x_val]).astype(np.float64)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)
    std = x.std(axis=0)
    constant = std < 1e-6  # e.g. border pixels that are blank in every chosen digit
    np.testing.assert_allclose(std[~constant], 1.0, atol=1e-4)
    assert constant.sum() < x.shape[1] // 2


def test_digit_trios_and_class_names(offline: None) -> None:
    assert make_dataset("digits").class_names == ("digit 0", "digit 1", "digit 7")
    assert make_dataset("digits-similar").class_names == ("digit 3", "digit 5", "digit 8")
    assert make_dataset("digits").input_dim == 64
    assert make_dataset("wine").input_dim == 13
    assert make_dataset("iris").input_dim == 4
    assert make_dataset("iris").class_names == ("setosa", "versicolor", "virginica")


# ---- label noise --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "noise"), [("blobs", 0.2), ("blobs", 0.5), ("iris", 0.3), ("digits", 0.1)])
def test_label_noise_flips_an_exact_fraction_of_training_labels_only(name: str, noise: float) -> None:
    noisy = make_dataset(name, seed=5, label_noise=noise)
    clean = make_dataset(name, seed=5, label_noise=0.0)
    n = noisy.y_train.size
    assert int(noisy.flipped.sum()) == round(noise * n)
    # `flipped` marks exactly the changed labels, and each changed label went to another class
    np.testing.assert_array_equal(noisy.flipped, noisy.y_train != noisy.y_true)
    np.testing.assert_array_equal(noisy.y_true, clean.y_train)
    # the inputs and the validation set are untouched: validation stays clean
    np.testing.assert_array_equal(noisy.x_train, clean.x_train)
    np.testing.assert_array_equal(noisy.x_val, clean.x_val)
    np.testing.assert_array_equal(noisy.y_val, clean.y_val)
    assert set(np.unique(noisy.y_train[noisy.flipped])) <= {0, 1, 2}


def test_flipped_labels_land_on_both_other_classes() -> None:
    d = make_dataset("blobs", points=3000, seed=0, label_noise=0.5)
    shift = (d.y_train[d.flipped] - d.y_true[d.flipped]) % 3
    assert set(np.unique(shift)) == {1, 2}


# ---- similarity ---------------------------------------------------------------------------------------
def test_similarity_one_brings_centres_zero_and_one_together() -> None:
    far, near = blob_centres(0.0), blob_centres(1.0)
    side = np.linalg.norm(far[0] - far[1])
    assert np.linalg.norm(far[0] - far[2]) == pytest.approx(side) == pytest.approx(np.linalg.norm(far[1] - far[2]))
    assert np.linalg.norm(near[0] - near[1]) < 0.15 * side
    np.testing.assert_allclose(near[2], far[2])  # class 2 stays where it was
    dist = [np.linalg.norm(blob_centres(s)[0] - blob_centres(s)[1]) for s in np.linspace(0, 1, 6)]
    assert all(a > b for a, b in zip(dist, dist[1:], strict=False))


def test_similar_blobs_overlap_in_the_data() -> None:
    def class_gap(similarity: float) -> float:
        d = make_dataset("blobs", points=1200, similarity=similarity, seed=0)
        m0 = d.x_train[d.y_train == 0].mean(axis=0)
        m1 = d.x_train[d.y_train == 1].mean(axis=0)
        return float(np.linalg.norm(m0 - m1))

    assert class_gap(0.0) > 3.0
    assert class_gap(1.0) < 0.6


# ---- ordering and bad knobs -----------------------------------------------------------------------------
def test_class_order_walks_class_zero_then_one_then_two() -> None:
    y = make_dataset("blobs", seed=0).y_train
    order = class_order(y)
    assert sorted(order.tolist()) == list(range(y.size))
    walked = y[order]
    assert (np.diff(walked) >= 0).all() and walked[0] == 0 and walked[-1] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "mnist"}, "unknown dataset"),
        ({"similarity": -0.1}, "similarity must be between 0 and 1"),
        ({"similarity": 1.5}, "similarity must be between 0 and 1"),
        ({"label_noise": 0.6}, "label noise must be between 0 and 0.5"),
        ({"label_noise": -0.01}, "label noise must be between 0 and 0.5"),
        ({"points": 10}, "points must be a whole number between 30 and 20,000"),
    ],
)
def test_bad_knobs_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_dataset(**kwargs)  # type: ignore[arg-type]
