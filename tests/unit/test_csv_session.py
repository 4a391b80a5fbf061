"""A session's own CSV file as a dataset (engine/data.py, engine/session.py): a seeded, stratified 2 : 1 split
standardized with the training split's statistics, label noise and unshuffled batches as for any dataset, the
inspected point's row, and the penguins learnt by both twins."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.config import ConfigError, RunConfig
from app.engine.csvread import read_table
from app.engine.data import make_dataset
from app.engine.distill import DistillSession, DistillSettings
from app.engine.session import TrainingSession
from app.engine.tabular import CsvData, choose, example


@pytest.fixture(scope="module")
def penguins() -> CsvData:
    name, table = example("penguins")
    return choose(table, name)


def test_the_split_is_stratified_two_to_one_and_seeded(penguins: CsvData) -> None:
    a, b = make_dataset("csv", table=penguins, seed=3), make_dataset("csv", table=penguins, seed=3)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.source_rows, b.source_rows)
    assert not np.array_equal(a.source_rows, make_dataset("csv", table=penguins, seed=4).source_rows)
    for c, summary in enumerate(penguins.summary["classes"]):
        n = summary["rows"]
        assert (a.y_train == c).sum() == (2 * n) // 3 and (a.y_val == c).sum() == n - (2 * n) // 3
    assert a.y_train.size == penguins.summary["train"] and a.y_val.size == penguins.summary["validation"]
    rows = np.concatenate([a.source_rows, np.setdiff1d(np.arange(penguins.y.size), a.source_rows)])
    assert sorted(rows.tolist()) == list(range(penguins.y.size))  # every used row once, in one split


def test_features_are_standardized_with_the_training_splits_statistics(penguins: CsvData) -> None:
    d = make_dataset("csv", table=penguins, seed=0)
    raw = penguins.x[d.source_rows]
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    np.testing.assert_allclose(d.x_train, (raw - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0, atol=1e-5)
    assert not np.allclose(d.x_val.mean(axis=0), 0, atol=1e-3)  # validation uses the training statistics


def test_label_noise_and_unshuffled_apply(penguins: CsvData) -> None:
    d = make_dataset("csv", table=penguins, seed=0, label_noise=0.2)
    assert d.flipped.sum() == round(0.2 * d.y_train.size) and (d.y_train != d.y_true).sum() == d.flipped.sum()
    s = TrainingSession(RunConfig(dataset="csv", ordered=True, device="cpu"), table=penguins)
    assert np.all(np.diff(s.data.y_train[s._order.cpu().numpy()]) >= 0)  # class 0, then 1, then 2


def test_the_csv_dataset_needs_its_file() -> None:
    with pytest.raises(ConfigError, match="no CSV file in this session"):
        TrainingSession(RunConfig(dataset="csv", device="cpu"))


def test_an_inspected_point_carries_its_row(penguins: CsvData) -> None:
    s = TrainingSession(RunConfig(dataset="csv", device="cpu"), table=penguins)
    s.inspect_index = 4
    info = s.snapshot().inspect
    assert info is not None
    point = int(s.display_idx[4])
    assert info["row"] == penguins.row(int(s.data.source_rows[point]))
    cells = dict(info["row"]["cells"])
    assert cells["species"] == penguins.classes[info["true_label"]]
    assert float(cells["bill_length_mm"]) == pytest.approx(penguins.x[int(s.data.source_rows[point]), 0])


def test_penguins_reach_095_validation_accuracy_with_both_twins(penguins: CsvData) -> None:
    s = TrainingSession(RunConfig(dataset="csv", device="cpu", seed=0), table=penguins)
    s.step(1500)
    metrics = s.run_metrics()
    assert metrics["baseline"]["val_acc"] is not None and metrics["smoothed"]["val_acc"] is not None
    assert metrics["baseline"]["val_acc"] >= 0.95 and metrics["smoothed"]["val_acc"] >= 0.95
    assert s.data.class_names == ("Adelie", "Gentoo", "Chinstrap")


def test_the_lab_and_the_sweep_train_on_the_file(penguins: CsvData) -> None:
    sweep = TrainingSession(RunConfig(dataset="csv", device="cpu"), [0.0, 0.1, 0.3], table=penguins)
    assert sweep.step(3) == 3 and sweep.data.source is penguins
    lab = DistillSession(RunConfig(dataset="csv", device="cpu"), DistillSettings(teacher_steps=2, student_steps=2),
                         table=penguins)
    assert lab.step(4) == 4 and lab.data.class_names == penguins.classes


def test_the_run_size_counts_the_files_training_points() -> None:
    """41 models × 6,000 training points × 768 units is over the limit (600 points, a table's, would not be)."""
    rows = "".join(f"{i % 97}.5,{i % 13},{'abc'[i % 3]}\n" for i in range(9_000))
    table = choose(read_table("x,y,label\n" + rows), "big.csv")
    big = RunConfig(dataset="csv", hidden=512, penultimate=256, device="cpu")
    with pytest.raises(ConfigError, match=r"41 × 6000 × \(512 \+ 256\)"):
        TrainingSession(big, [i / 100 for i in range(41)], table=table)
