"""The example CSV files the explorer ships ("try an example"): the generator of app/engine/penguins.csv and
app/engine/wine.csv, and the reference their test compares with (tests/unit/test_examples.py).

    .venv/bin/python -m tests.reference.examples        # rewrites both files from their packages

penguins.csv is the `palmerpenguins` package's own file, byte for byte (the Palmer penguins, CC0, Horst, Hill
and Gorman); wine.csv is scikit-learn's wine table with its feature names and a `class` column (class_0,
class_1, class_2), every number written so that it reads back to the same float64.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "app" / "engine"


def penguins() -> bytes:
    return resources.files("palmerpenguins").joinpath("data", "penguins.csv").read_bytes()


def wine() -> bytes:
    from sklearn import datasets

    bunch = datasets.load_wine()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*bunch.feature_names, "class"])
    for row, target in zip(bunch.data, bunch.target, strict=True):
        writer.writerow([*(repr(float(v)) for v in row), bunch.target_names[target]])
    return out.getvalue().encode("utf-8")


def from_packages() -> dict[str, bytes]:
    """File name → the bytes the explorer ships."""
    return {"penguins.csv": penguins(), "wine.csv": wine()}


def main() -> None:
    for name, data in from_packages().items():
        (ENGINE / name).write_bytes(data)
        print(f"wrote {ENGINE / name} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
