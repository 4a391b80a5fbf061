"""The CSV cases of tests/cases/csv/: bad files with the sentence each must get (manifest.json), and good files.

One list for every layer that reads a CSV: the reader (tests/unit/test_csvread.py), the command line
(tests/unit/test_csv_cli.py), the WebSocket (tests/api/test_dataset_ws.py) and the page (tests/e2e/).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parents[1] / "cases" / "csv"
BAD, GOOD = CASES / "bad", CASES / "good"


@dataclass(frozen=True)
class BadCase:
    file: str
    message: str
    label: str | None = None
    classes: list[str] | None = None
    make: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.file + (f"[label={self.label}]" if self.label else "") + ("[classes]" if self.classes else "")

    def data(self) -> bytes:
        """The file's bytes: as kept in bad/, or built from its recipe (`make`)."""
        if self.make is None:
            return (BAD / self.file).read_bytes()
        m = self.make
        lines = [m["header"] * m.get("header_repeat", 1), *([m["first"]] if "first" in m else []),
                 *([m["row"]] * m["count"])]
        return ("\n".join(lines) + ("\n" if m["count"] else "")).encode()

    def write(self, folder: Path) -> Path:
        path = folder / self.file
        path.write_bytes(self.data())
        return path


def bad_cases() -> list[BadCase]:
    manifest = json.loads((CASES / "manifest.json").read_text())
    return [BadCase(**entry) for entry in manifest["bad"]]


@dataclass(frozen=True)
class GoodCase:
    file: str
    delimiter: str
    label: str
    encoding: str  # what pandas is told: the reader finds it by itself

    @property
    def path(self) -> Path:
        return (GOOD / self.file).resolve()


def good_cases() -> list[GoodCase]:
    manifest = json.loads((CASES / "manifest.json").read_text())
    return [GoodCase(**entry) for entry in manifest["good"]]
