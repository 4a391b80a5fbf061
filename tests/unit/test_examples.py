"""The example CSV files that ship in the package ("try an example"): equal to their sources, byte for byte,
and read by the same reader as an upload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.engine.csvread import decode, read_table
from app.engine.tabular import EXAMPLES, example
from tests.reference.examples import ENGINE, from_packages


@pytest.mark.parametrize("name", sorted(from_packages()))
def test_the_shipped_examples_equal_their_sources(name: str) -> None:
    want = from_packages()[name]
    assert (ENGINE / name).read_bytes() == want, f"{name} differs: rerun python -m tests.reference.examples"


def test_wine_csv_holds_scikit_learns_numbers_exactly() -> None:
    from sklearn import datasets

    bunch = datasets.load_wine()
    table = read_table(decode((ENGINE / "wine.csv").read_bytes()))
    assert table.names == (*bunch.feature_names, "class")
    data = np.stack([table.numbers[j] for j in range(13)], axis=1)
    assert np.array_equal(data, bunch.data)
    codes, levels = table.texts[13]
    assert [levels[k] for k in codes] == [str(bunch.target_names[t]) for t in bunch.target]


def test_every_example_is_in_the_package_data() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    for key in EXAMPLES:
        name, table = example(key)
        assert f'"{name}"' in pyproject and table.rows > 100
