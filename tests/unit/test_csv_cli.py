"""`python -m app run | sweep | distill --csv FILE [--label COL] [--classes A,B,C]`: the page's reader on the
command line; a bad file gets one line and exit status 2; the results' CSV is --out-csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.support.csvcases import BadCase, bad_cases
from tests.unit.test_cli import assert_usage_error, in_process

PENGUINS = str(Path(__file__).resolve().parents[2] / "app" / "engine" / "penguins.csv")
FAST = ["--steps", "30", "--device", "cpu", "--quiet", "--json"]


def test_run_on_a_csv_reports_the_file_and_both_twins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = in_process(capsys, "run", "--csv", PENGUINS, "--label", "island", *FAST)
    assert code == 0, err
    result = json.loads(out)
    assert result["config"]["dataset"] == "csv" and set(result["runs"]) == {"baseline", "smoothed"}
    data = result["data"]
    assert data["name"] == "penguins.csv" and data["label"] == "island" and len(data["sha256"]) == 16
    assert [c["name"] for c in data["classes"]] == ["Biscoe", "Dream", "Torgersen"]


def test_sweep_and_distill_take_the_csv_and_write_results_with_out_csv(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_csv = tmp_path / "sweep.csv"
    code, out, err = in_process(capsys, "sweep", "--csv", PENGUINS, "--classes", "Adelie,Chinstrap,Gentoo",
                                "--eps", "0,0.2", "--out-csv", str(out_csv), *FAST)
    assert code == 0, err
    result = json.loads(out)
    assert [c["name"] for c in result["data"]["classes"]] == ["Adelie", "Chinstrap", "Gentoo"]
    assert out_csv.read_text().startswith("eps,") and len(result["runs"]) == 2
    code, out, err = in_process(capsys, "distill", "--csv", PENGUINS, "--teacher-steps", "5", "--student-steps",
                                "5", "--device", "cpu", "--quiet", "--json")
    assert code == 0, err
    assert json.loads(out)["data"]["label"] == "species"


@pytest.mark.parametrize("case", [c for c in bad_cases() if c.make is None], ids=lambda c: c.id)
def test_a_bad_file_is_one_line_and_exit_2(case: BadCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = case.write(tmp_path)
    extra = [*(["--label", case.label] if case.label else []),
             *(["--classes", ",".join(case.classes)] if case.classes else [])]
    code, out, err = in_process(capsys, "run", "--csv", str(path), *extra, *FAST)
    assert_usage_error(code, out, err)
    assert err.strip() == f"python -m app: error: {case.file}: {case.message}"


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    six = next(c for c in bad_cases() if c.file == "six_mb.csv")
    code, out, err = in_process(capsys, "run", "--csv", str(six.write(tmp_path)), *FAST)
    assert_usage_error(code, out, err, six.message)


@pytest.mark.parametrize(("args", "words"), [
    (["run", "--csv", "no-such.csv"], "--csv no-such.csv: no such file; to write the results as CSV, use --out-csv"),
    (["sweep", "--csv", "results.csv"], "to write the results as CSV, use --out-csv"),
    (["run", "--label", "species"], "--label and --classes go with --csv FILE"),
    (["run", "--csv", PENGUINS, "--dataset", "iris"], "--dataset iris and --csv name two datasets"),
    (["run", "--csv", PENGUINS, "--classes", "Adelie,Gentoo"], "choose three different classes"),
])
def test_csv_flag_mistakes_get_one_line(args: list[str], words: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(capsys, *args, *FAST)
    assert_usage_error(code, out, err, words)


def test_results_csv_cells_that_look_like_formulas_are_prefixed(tmp_path: Path) -> None:
    """OWASP's CSV injection rule for what the CLI writes: text starting = + - @ tab CR gets a leading '."""
    from app.report import write_csv

    out = tmp_path / "out.csv"
    write_csv(str(out), [{"name": "=cmd|' /C calc'!A0", "eps": -0.5, "note": "@SUM(A1)", "x": "+1", "y": "\tt",
                          "z": "plain", "w": None}])
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-0.5", "'@SUM(A1)", "'+1", "'\tt", "plain", ""]
