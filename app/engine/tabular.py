"""Your own data: a CSV file as read (engine/csvread.py) with its label column and three classes chosen.

Defaults (issue 22): the label is a column named label, class, target, species or y (in that order), else the
last text column; the classes are the label's three most frequent. Every other numeric column is a feature
(at most 64); the remaining columns are ignored and named in the summary. Rows with a missing or non-finite
value in a used column are dropped and counted; rows of other classes are left out. engine/data.py splits the
rows (seeded, stratified 2 : 1) and standardizes them with the training split's statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import MAX_CSV_FEATURES, MAX_LABEL_NUMBERS, MIN_CLASS_ROWS, K
from .csvread import CsvError, Table, decode, read_table, shown

LABEL_NAMES = ("label", "class", "target", "species", "y")  # a column so named is the default label
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SHOWN_CLASSES = 50  # classes offered to pick from, the most frequent first
ROW_CELLS, CELL_CHARS = 80, 120  # of an inspected row: the cells shown and the characters of each
# "try an example": CSV files beside this module, in the package (tests/reference/examples.py writes them)
EXAMPLES = {"penguins": "the Palmer penguins (CC0): species from bill, flipper and body mass",
            "wine": "scikit-learn's wine: three cultivars from 13 chemical measurements"}


@dataclass(frozen=True)
class CsvData:
    """The rows the twins train on: raw features x, labels y (0, 1, 2: the chosen classes in order) and, for
    each, its data row in the table; `summary` is what the page and the CLI show of it (JSON-safe)."""

    name: str
    table: Table
    label: str
    classes: tuple[str, str, str]
    features: tuple[str, ...]
    x: np.ndarray  # (n, D) float64, as in the file
    y: np.ndarray  # (n,) int64
    rows: np.ndarray  # (n,) int64: the data row of each
    summary: dict[str, Any] = field(compare=False)

    def row(self, i: int) -> dict[str, Any]:
        """Used row i as the file has it: its line and its first cells, [column, value] in the file's order."""
        r = int(self.rows[i])
        cells = [[name, value if len(value) <= CELL_CHARS else value[: CELL_CHARS - 1] + "…"]
                 for name, value in zip(self.table.names, self.table.row(r), strict=False)]
        return {"line": int(self.table.lines[r]), "cells": cells[:ROW_CELLS]}


def choose(table: Table, name: str = "your file", label: str | None = None,
           classes: Sequence[str] | None = None) -> CsvData:
    """The table with its label column and three classes picked (defaults when None); raises CsvError."""
    names = table.names
    j = _label_column(table, label)
    label_name = names[j]
    codes, levels = _label_codes(table, j)
    features = [k for k in sorted(table.numbers) if k != j]
    if not features:
        raise CsvError("no column besides the label holds numbers only, so there is nothing to learn from: "
                       "the explorer needs at least one numeric column")
    if len(features) > MAX_CSV_FEATURES:
        raise CsvError(f"the file has {len(features)} numeric columns; at most {MAX_CSV_FEATURES} can be features: "
                       "keep the columns you need")
    x_all = np.stack([table.numbers[k] for k in features], axis=1)  # (R, D)
    missing = np.isnan(x_all).any(axis=1) | (codes < 0)
    infinite = ~missing & np.isinf(x_all).any(axis=1)
    usable = ~missing & ~infinite
    present = np.bincount(codes[codes >= 0], minlength=len(levels))
    counts = np.bincount(codes[usable], minlength=len(levels))
    distinct = [i for i in range(len(levels)) if present[i]]
    if len(distinct) < K:
        found = ", ".join(shown(levels[i]) for i in distinct)
        has = {0: "no classes", 1: f"only one class ({found})"}.get(len(distinct), f"only two classes ({found})")
        raise CsvError(f'the label column "{shown(label_name)}" has {has}; the explorer needs three')
    order = sorted(distinct, key=lambda i: (-int(counts[i]), i))
    picked = order[:K] if classes is None else _picked(classes, levels, counts, label_name, order)
    dropped = np.bincount(codes[~usable & (codes >= 0)], minlength=len(levels))
    for i in picked:
        if counts[i] < MIN_CLASS_ROWS:
            more = f" ({int(dropped[i]):,} more had a missing or infinite value)" if dropped[i] else ""
            raise CsvError(f'class "{shown(levels[i])}" has only {int(counts[i])} usable rows{more}; '
                           f"each of the three classes needs at least {MIN_CLASS_ROWS}")
    y_all = np.full(codes.shape, -1, dtype=np.int64)
    for c, i in enumerate(picked):
        y_all[codes == i] = c
    used = np.flatnonzero(usable & (y_all >= 0))
    chosen = (levels[picked[0]], levels[picked[1]], levels[picked[2]])
    summary = {
        "name": name, "sha256": table.sha256, "rows": table.rows, "used": int(used.size),
        "delimiter": DELIMITER_NAMES[table.delimiter], "label": label_name,
        "classes": [{"name": levels[i], "rows": int(counts[i])} for i in picked],
        "features": [names[k] for k in features],
        "ignored": [n for k, n in enumerate(names) if k != j and k not in table.numbers],
        "dropped": {"missing": int(missing.sum()), "not_finite": int(infinite.sum())},
        "other_classes": int((usable & (y_all < 0)).sum()),
        "train": sum((2 * int(counts[i])) // 3 for i in picked),
        "validation": sum(int(counts[i]) - (2 * int(counts[i])) // 3 for i in picked),
        "label_choices": label_choices(table),
        "class_choices": [{"name": levels[i], "rows": int(counts[i])} for i in order[:SHOWN_CLASSES]],
    }
    return CsvData(name=name, table=table, label=label_name, classes=chosen, features=tuple(names[k] for k in features),
                   x=x_all[used], y=y_all[used], rows=used.astype(np.int64), summary=summary)


def example(key: str) -> tuple[str, Table]:
    """An example's file name and table ("try an example"), read through the same reader as an upload."""
    if key not in EXAMPLES:
        raise CsvError(f"no example named {shown(key)!r}; the examples are {', '.join(EXAMPLES)}")
    path = Path(__file__).with_name(f"{key}.csv")
    return path.name, read_table(decode(path.read_bytes()))


def label_choices(table: Table) -> list[str]:
    """The columns that can be the label: text columns, and numeric ones of at most MAX_LABEL_NUMBERS values."""
    def classes(j: int) -> int:
        if j in table.texts:
            return len(table.texts[j][1])
        return _distinct_numbers(table.numbers[j]).size if j in table.numbers else 0

    return [name for j, name in enumerate(table.names)
            if classes(j) >= K and (j in table.texts or classes(j) <= MAX_LABEL_NUMBERS)]


def _distinct_numbers(column: np.ndarray) -> np.ndarray:
    return np.unique(column[np.isfinite(column)])


def _label_column(table: Table, label: str | None) -> int:
    names = table.names
    if label is not None:
        if label not in names:
            listed = ", ".join(shown(n) for n in names[:12]) + (", …" if len(names) > 12 else "")
            raise CsvError(f'there is no column "{shown(label)}" to use as the label; the columns are: {listed}')
        j = names.index(label)
    else:
        lower: dict[str, int] = {}
        for k, n in enumerate(names):
            lower.setdefault(n.lower(), k)
        named = [lower[want] for want in LABEL_NAMES if want in lower]
        texts = [k for k in range(len(names)) if k in table.texts]
        if not named and not texts:
            raise CsvError("no column holds classes to use as the label: add a column named label (or class, "
                           "target, species or y), or choose the label column")
        j = named[0] if named else texts[-1]
    if j not in table.texts and j not in table.numbers:
        raise CsvError(f'the label column "{shown(names[j])}" is empty')
    if j in table.numbers:
        values = _distinct_numbers(table.numbers[j]).size
        if values > MAX_LABEL_NUMBERS:
            raise CsvError(f'the label column "{shown(names[j])}" holds {values:,} different numbers, a measurement '
                           "rather than classes: choose a column of classes as the label")
    return j


def _label_codes(table: Table, j: int) -> tuple[np.ndarray, list[str]]:
    """The label of each row as a class index (-1: missing) and the classes' names."""
    if j in table.texts:
        codes, levels = table.texts[j]
        return codes.astype(np.int64), list(levels)
    column = table.numbers[j]
    values = _distinct_numbers(column)
    codes = np.full(column.shape, -1, dtype=np.int64)
    finite = np.isfinite(column)
    codes[finite] = np.searchsorted(values, column[finite])
    return codes, [format(float(v), "g") for v in values]


def _picked(classes: Sequence[str], levels: list[str], counts: np.ndarray, label: str, order: list[int]) -> list[int]:
    if len(classes) != K or len(set(classes)) != K:
        raise CsvError(f"choose three different classes of the label column, not {len(set(classes))}")
    index = {name: i for i, name in enumerate(levels)}
    for c in classes:
        if c not in index:
            listed = ", ".join(f"{shown(levels[i])} ({int(counts[i]):,} rows)" for i in order[:8])
            raise CsvError(f'the label column "{shown(label)}" has no class "{shown(c)}"; its classes are: {listed}'
                           + (", …" if len(order) > 8 else ""))
    return [index[c] for c in classes]
