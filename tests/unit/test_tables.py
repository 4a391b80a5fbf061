"""app/engine/tables.npz: scikit-learn's digits, wine and iris tables shipped with the package, so the server
runs without scikit-learn (and scipy). Held equal to scikit-learn's own tables, value for value and in order."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from app.engine.data import TABLES_FILE, make_dataset
from tests.reference.tables import from_sklearn
from tests.support.server import REPO


@pytest.fixture(scope="module")
def stored() -> dict[str, np.ndarray]:
    with np.load(TABLES_FILE, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def test_the_shipped_tables_equal_scikit_learns(stored: dict[str, np.ndarray]) -> None:
    reference = from_sklearn()
    assert sorted(stored) == sorted(reference)
    for key, want in reference.items():
        assert stored[key].dtype == want.dtype, key
        assert np.array_equal(stored[key], want), f"{key} differs from scikit-learn's: rerun tests/reference/tables.py"
    assert stored["digits_data"].shape == (1797, 64) and stored["wine_data"].shape == (178, 13)
    assert stored["iris_data"].shape == (150, 4)


def test_the_digits_survive_their_uint8_storage() -> None:
    from sklearn import datasets

    assert np.array_equal(from_sklearn()["digits_data"].astype(np.float64), datasets.load_digits().data)


def test_the_tables_load_without_scikit_learn() -> None:
    """A fresh interpreter that cannot import sklearn (or scipy) still builds every table dataset."""
    code = (
        "import sys; sys.modules['sklearn'] = None; sys.modules['scipy'] = None\n"
        "from app.engine.data import make_dataset\n"
        "for name in ('digits', 'digits-similar', 'wine', 'iris'):\n"
        "    d = make_dataset(name, seed=1)\n"
        "    print(name, d.x_train.shape[0] + d.x_val.shape[0], d.input_dim, d.class_names[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == ["digits 539 64 digit 0", "digits-similar 539 64 digit 3",
                                          "wine 178 13 class_0", "iris 150 4 setosa"], out.stdout


def test_the_file_is_small() -> None:
    assert TABLES_FILE.endswith("tables.npz")
    assert 10_000 < (REPO / "app" / "engine" / "tables.npz").stat().st_size < 200_000
    assert make_dataset("wine").input_dim == 13
