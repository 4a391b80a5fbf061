"""scikit-learn's three bundled tables (digits, wine, iris) as the explorer ships them: the generator of
app/engine/tables.npz and the reference its test compares with (tests/unit/test_tables.py).

    .venv/bin/python -m tests.reference.tables        # rewrites app/engine/tables.npz from scikit-learn

The server reads the arrays from that file (numpy only), so scikit-learn and its scipy stay out of the
Docker image; the test holds the file equal to scikit-learn's tables, value for value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TABLES_FILE = Path(__file__).resolve().parents[2] / "app" / "engine" / "tables.npz"


def from_sklearn() -> dict[str, np.ndarray]:
    """The arrays as app/engine/data.py reads them: `<name>_data`, `<name>_target`, `<name>_names`.

    Digits are whole numbers 0–16 (stored as uint8); wine and iris are stored as scikit-learn's float64.
    """
    from sklearn import datasets

    out: dict[str, np.ndarray] = {}
    for name, load in (("digits", datasets.load_digits), ("wine", datasets.load_wine), ("iris", datasets.load_iris)):
        bunch = load()
        data = bunch.data
        if name == "digits":
            assert np.array_equal(data, np.round(data)) and data.min() >= 0 and data.max() <= 255
            data = data.astype(np.uint8)
        out[f"{name}_data"] = data
        out[f"{name}_target"] = bunch.target.astype(np.uint8)
        out[f"{name}_names"] = np.array([str(n) for n in bunch.target_names])
    return out


def main() -> None:
    np.savez_compressed(TABLES_FILE, **from_sklearn())  # type: ignore[arg-type]
    print(f"wrote {TABLES_FILE} ({TABLES_FILE.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
