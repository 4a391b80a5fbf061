"""Datasets for the explorer: 2-D blobs with the blog's knobs, and scikit-learn's bundled tables.

The blog's scenarios (blog §6): semantically similar classes (`similarity`), incorrectly labelled
data (`label_noise`, training labels only), unshuffled data (`ordered`). Nothing is downloaded:
scikit-learn's digits, wine and iris tables ship beside this file as tables.npz (written from
scikit-learn by tests/reference/tables.py and held equal to it by tests/unit/test_tables.py), so the
server needs numpy only. A session's own CSV file (engine/tabular.py) is split here too, and standardized
with its training split's statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .config import CSV, DATASETS, ConfigError, K, check

if TYPE_CHECKING:
    from .tabular import CsvData

__all__ = ["DATASETS", "K", "Dataset", "class_order", "make_dataset"]

DIGIT_TRIOS = {"digits": (0, 1, 7), "digits-similar": (3, 5, 8)}
TABLES_FILE = __file__[: -len("data.py")] + "tables.npz"  # beside this module, in the installed package too
_tables: dict[str, np.ndarray] = {}


@dataclass(frozen=True)
class Dataset:
    """A train/validation split; `flipped` marks training points whose label noise changed."""

    name: str
    x_train: np.ndarray  # (N, D) float32
    y_train: np.ndarray  # (N,) int64, the labels the model is trained on (noisy where flipped)
    x_val: np.ndarray  # (V, D) float32
    y_val: np.ndarray  # (V,) int64, always clean
    flipped: np.ndarray  # (N,) bool
    y_true: np.ndarray  # (N,) int64, the clean training labels
    class_names: tuple[str, str, str]
    source: CsvData | None = None  # a CSV file's rows: the inspector shows a training point's row
    source_rows: np.ndarray | None = None  # (N,) each training point's index in source (x, y, rows)

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])


def make_dataset(
    name: str = "blobs",
    *,
    points: int = 600,
    similarity: float = 0.0,
    label_noise: float = 0.0,
    seed: int = 0,
    table: CsvData | None = None,
) -> Dataset:
    """Build a dataset deterministically from `seed`; validation labels are never flipped.

    `table`: the CSV file's rows, for the dataset "csv" (the session holds them)."""
    check("dataset", name)
    check("similarity", similarity)
    check("label_noise", label_noise)
    rng = np.random.default_rng(seed)
    if name == CSV:
        return _csv(table, label_noise, rng)
    if name == "blobs":
        check("points", points)
        x_tr, y_tr = _blobs(points, similarity, rng)
        x_va, y_va = _blobs(max(points // 2, 30), similarity, rng)
        names: tuple[str, str, str] = ("class 0", "class 1", "class 2")
    else:
        x, y, names = _table(name)
        x_tr, y_tr, x_va, y_va = _split(x, y, rng)
    noisy, flipped = _flip(y_tr, label_noise, rng)
    return Dataset(
        name=name,
        x_train=x_tr.astype(np.float32),
        y_train=noisy,
        x_val=x_va.astype(np.float32),
        y_val=y_va.astype(np.int64),
        flipped=flipped,
        y_true=y_tr.astype(np.int64),
        class_names=names,
    )


def blob_centres(similarity: float) -> np.ndarray:
    """Class centres (3, 2): a triangle; similarity pulls centres 0 and 1 together (1: nearly one)."""
    angles = np.pi / 2 + 2 * np.pi * np.arange(K) / K
    centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (3, 2)
    mid = (centres[0] + centres[1]) / 2
    pull = 0.9 * similarity
    centres[0] += pull * (mid - centres[0])
    centres[1] += pull * (mid - centres[1])
    return centres


def _blobs(n: int, similarity: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % K
    rng.shuffle(y)
    x = blob_centres(similarity)[y] + 0.45 * rng.standard_normal((n, 2))
    return x, y.astype(np.int64)


def _table(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, str, str]]:
    if name in DIGIT_TRIOS:
        trio = DIGIT_TRIOS[name]
        data, target, _ = _stored("digits")
        keep = np.isin(target, trio)
        x = data[keep].astype(np.float64)
        y = np.searchsorted(np.array(trio), target[keep])
        names = (f"digit {trio[0]}", f"digit {trio[1]}", f"digit {trio[2]}")
    else:
        data, target, target_names = _stored(name)
        x, y = data.astype(np.float64), target
        names = (str(target_names[0]), str(target_names[1]), str(target_names[2]))
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return x, y.astype(np.int64), names


def _stored(table: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's table `table` (digits, wine or iris) as stored: data, target, target names."""
    if not _tables:
        with np.load(TABLES_FILE, allow_pickle=False) as npz:
            _tables.update({key: npz[key] for key in npz.files})
    return _tables[f"{table}_data"], _tables[f"{table}_target"].astype(np.int64), _tables[f"{table}_names"]


def _split(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 2/3 train, 1/3 validation."""
    tr, va = _split_index(y, rng)
    return x[tr], y[tr], x[va], y[va]


def _split_index(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The training and validation indices of a stratified 2/3 : 1/3 split, each shuffled."""
    train, val = [], []
    for c in range(K):
        idx = rng.permutation(np.flatnonzero(y == c))
        cut = (2 * idx.size) // 3
        train.append(idx[:cut])
        val.append(idx[cut:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def _csv(table: CsvData | None, label_noise: float, rng: np.random.Generator) -> Dataset:
    """A CSV file's rows, split and standardized with the training split's mean and standard deviation."""
    if table is None:
        raise ConfigError("no CSV file in this session: choose one first (dataset: your own CSV)")
    tr, va = _split_index(table.y, rng)
    mean, std = table.x[tr].mean(axis=0), table.x[tr].std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    noisy, flipped = _flip(table.y[tr], label_noise, rng)
    return Dataset(name=CSV, x_train=((table.x[tr] - mean) / scale).astype(np.float32), y_train=noisy,
                   x_val=((table.x[va] - mean) / scale).astype(np.float32), y_val=table.y[va], flipped=flipped,
                   y_true=table.y[tr], class_names=table.classes, source=table, source_rows=tr)


def _flip(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Flip `fraction` of the labels, each to one of the other classes at random."""
    noisy = y.astype(np.int64).copy()
    flipped = np.zeros(y.size, dtype=bool)
    n = int(round(fraction * y.size))
    if n:
        idx = rng.choice(y.size, size=n, replace=False)
        noisy[idx] = (noisy[idx] + rng.integers(1, K, size=n)) % K
        flipped[idx] = True
    return noisy, flipped


def class_order(y: np.ndarray) -> np.ndarray:
    """Indices sorted by class (stable): the blog's unshuffled order, all of class 0 first."""
    return np.argsort(y, kind="stable")
