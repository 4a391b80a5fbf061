"""The command line's own data: `--csv FILE [--label COL] [--classes A,B,C]` for run, sweep and distill.

The file goes through the reader the page's upload goes through (engine/csvread.py, engine/tabular.py): the
same limits and the same one-sentence messages, printed as one line with exit status 2 (app/__main__.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .engine.config import CSV, MAX_CSV_BYTES
from .engine.csvread import CsvError, decode, read_table, too_large
from .engine.tabular import CsvData, choose

__all__ = ["CsvData", "add_flags", "dataset_changes", "load", "report"]

REPORTED = ("name", "sha256", "rows", "used", "label", "classes", "features", "ignored", "dropped", "other_classes",
            "train", "validation")


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", metavar="FILE", help="train on your own CSV file (a header row; numeric columns are "
                   "the features; at most 5 MB, 20,000 rows, 64 features)")
    p.add_argument("--label", metavar="COLUMN", help="with --csv: the label column (default: one named label, "
                   "class, target, species or y, else the last text column)")
    p.add_argument("--classes", metavar="A,B,C", help="with --csv: the three classes (default: the most frequent)")


def dataset_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The RunConfig change --csv makes (dataset "csv"); refuses --dataset with it, and --label without it."""
    if args.csv is None:
        if args.label is not None or args.classes is not None:
            raise CsvError("--label and --classes go with --csv FILE")
        return {}
    if args.dataset not in (None, CSV):
        raise CsvError(f"--dataset {args.dataset} and --csv name two datasets: give one of them")
    return {"dataset": CSV}


def load(args: argparse.Namespace) -> CsvData | None:
    """The --csv file read, with its label and classes chosen (None without --csv); raises CsvError."""
    if args.csv is None:
        return None
    path = Path(args.csv)
    if not path.is_file():
        raise CsvError(f"--csv {args.csv}: no such file; to write the results as CSV, use --out-csv")
    with path.open("rb") as fh:
        raw = fh.read(MAX_CSV_BYTES + 1)  # never more than the limit in memory, whatever the file's size
    if len(raw) > MAX_CSV_BYTES:
        raise CsvError(f"{path.name}: {too_large(path.stat().st_size)}")
    classes = None if args.classes is None else [c.strip() for c in args.classes.split(",")]
    try:
        return choose(read_table(decode(raw)), path.name, args.label, classes)
    except CsvError as err:
        raise CsvError(f"{path.name}: {err}") from None


def report(data: CsvData | None) -> dict[str, Any]:
    """What a JSON report says of the file ({} without one): its name, fingerprint, rows, label, classes."""
    return {} if data is None else {"data": {key: data.summary[key] for key in REPORTED}}
