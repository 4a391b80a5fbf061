"""`python -m app distill` (issue 14): the JSON contract, CSV and HTML, and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from app.__main__ import main

REPO = Path(__file__).resolve().parents[2]
CONTRACT = ["distill", "--dataset", "blobs", "--similarity", "0.5", "--eps", "0.1", "--temperature", "1",
            "--teacher-steps", "3000", "--student-steps", "3000", "--seed", "0", "--json"]
RUN_KEYS = {"val_acc", "val_nll", "ece", "train_loss"}
SMALL = ["distill", "--teacher-steps", "60", "--student-steps", "40", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def contract() -> dict[str, object]:
    """The issue's command, word for word, in a real process: its one JSON object."""
    done = subprocess.run([sys.executable, "-m", "app", *CONTRACT], cwd=REPO, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and "Traceback" not in done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_contract_command_prints_one_object_with_every_run(contract: dict) -> None:
    assert set(contract) == {"temperature", "alpha", "teachers", "students"}
    assert contract["temperature"] == 1.0 and contract["alpha"] == 0.0
    for role in ("teachers", "students"):
        assert set(contract[role]) == {"baseline", "smoothed"}
        for run in contract[role].values():
            assert set(run) >= RUN_KEYS and run["steps"] == 3000
            for key in RUN_KEYS | {"similar_share"}:
                assert isinstance(run[key], float) and math.isfinite(run[key]), key
            assert 0 <= run["val_acc"] <= 1 and 0 <= run["ece"] <= 1 and 0 <= run["similar_share"] <= 1
    teachers, students = contract["teachers"], contract["students"]
    assert teachers["baseline"]["eps"] == 0.0 and teachers["smoothed"]["eps"] == 0.1
    assert students["smoothed"]["teacher_eps"] == 0.1
    # what the lab is for (paper §4): the one-hot teacher's wrong mass goes to the similar class
    assert teachers["baseline"]["similar_share"] > 0.85 > 0.65 > teachers["smoothed"]["similar_share"]


def test_csv_html_and_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_csv, out_html = tmp_path / "lab.csv", tmp_path / "lab.html"
    assert main([*SMALL, "--out-csv", str(out_csv), "--html", str(out_html)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("T = 1, α = 0") and "teacher/baseline" in table and "similar_share" in table
    with out_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["role"], r["twin"]) for r in rows] == [("teacher", "baseline"), ("teacher", "smoothed"),
                                                       ("student", "baseline"), ("student", "smoothed")]
    assert [float(r["teacher_eps"]) for r in rows] == [0.0, 0.1, 0.0, 0.1]
    assert [int(r["steps"]) for r in rows] == [60, 60, 40, 40]
    html = out_html.read_text()
    assert "Distillation: blobs" in html and "similar-class share" in html and "plotly" in html.lower()


@pytest.mark.parametrize(("flags", "words"), [
    (["--temperature", "0"], "--temperature: the temperature T must be between 0.1 and 20, got 0.0"),
    (["--temperature", "nan"], "--temperature: the temperature T must be between 0.1 and 20, got nan"),
    (["--alpha", "1.5"], "--alpha: α (the weight of the hard labels) must be between 0 and 1"),
    (["--teacher-steps", "0"], "--teacher-steps: the teachers' steps must be a whole number between 1 and 100,000"),
    (["--student-steps", "200000"], "--student-steps: the students' steps must be"),
    (["--student-hidden", "0"], "--student-hidden: the students' hidden width"),
    (["--student-penultimate", "1"], "--student-penultimate: the students' penultimate dimension"),
    (["--student-steps", "many"], "invalid int value: 'many'"),
    (["--steps", "10"], "unrecognized arguments: --steps"),
    (["--eps", "2"], "eps"),
    (["--dataset", "mnist"], "unknown dataset 'mnist'"),
])
def test_bad_flags_get_one_line_and_exit_status_2(flags: list[str], words: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*SMALL, *flags])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert words in lines[0], lines[0]
