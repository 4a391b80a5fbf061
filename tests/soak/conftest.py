"""The soak suite: its `slow` tests run only when asked for (`make soak` = `pytest tests/soak -m slow`).

`make test` runs every test under tests/, this folder included: there the short variants run and the
long ones are skipped with a pointer to `make soak`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.getoption("markexpr") or ""
    if re.search(r"(?<!not )\bslow\b", markexpr):  # `-m slow` (or `-m "slow and …"`): run them
        return
    skip = pytest.mark.skip(reason="a long soak run: `make soak` runs it")
    for item in items:
        if "slow" in item.keywords and HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)
