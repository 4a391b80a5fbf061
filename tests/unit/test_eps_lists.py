"""The CLI's --eps follows the one ε-list rule that the sweep page follows too (tests/cases/eps_lists.json;
the page's Node test reads the same file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.__main__ import UsageError, parse_eps_list
from app.engine.config import MAX_SWEEP_MODELS

CASES = json.loads((Path(__file__).parents[1] / "cases" / "eps_lists.json").read_text())


def test_the_case_file_uses_the_server_limit() -> None:
    assert CASES["max_models"] == MAX_SWEEP_MODELS


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: repr(c["input"]))
def test_cli_parses_every_case_as_the_rule_says(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(UsageError, match=r"^--eps: "):
            parse_eps_list(case["input"])
    else:
        assert parse_eps_list(case["input"]) == pytest.approx(case["values"], abs=1e-12)
