"""`python -m app run | sweep` (issue 2 §7, issue 4 §2): the JSON contract, determinism, and clear errors."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from app.__main__ import main
from app.engine.loss import loss_floor, optimal_logit_gap

REPO = Path(__file__).resolve().parents[2]
# the keys issue 2 lists for every run, in `run --json` and (issue 4) in `sweep --json`
RUN_KEYS = {
    "eps", "steps", "train_loss", "val_loss", "train_acc", "val_acc", "ece", "logit_gap", "val_logit_gap",
    "dist_correct", "dist_incorrect", "incorrect_spread", "loss_floor", "optimal_logit_gap",
}
RUN_ARGS = ["run", "--json", "--steps", "200", "--device", "cpu", "--quiet"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=REPO, capture_output=True, text=True, timeout=240, check=False
    )


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def check_run(run: dict[str, Any], eps: float, steps: int) -> None:
    assert set(run) >= RUN_KEYS, f"missing {RUN_KEYS - set(run)}"
    assert run["eps"] == eps and run["steps"] == steps
    assert run["loss_floor"] == pytest.approx(loss_floor(eps, 3))
    if eps == 0:
        assert run["optimal_logit_gap"] is None
    else:
        assert run["optimal_logit_gap"] == pytest.approx(optimal_logit_gap(eps, 3))
    for key in RUN_KEYS - {"optimal_logit_gap"}:
        assert isinstance(run[key], int | float) and math.isfinite(run[key]), key
    assert 0 <= run["train_acc"] <= 1 and 0 <= run["val_acc"] <= 1 and 0 <= run["ece"] <= 1


def assert_usage_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


# ---- run ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_json() -> str:
    """`python -m app run --json --steps 200` in a real process: its stdout."""
    done = cli(*RUN_ARGS)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_run_json_prints_one_object_with_the_contract(run_json: str) -> None:
    assert run_json.endswith("\n") and run_json.count("\n") == 1  # exactly one JSON object, one line
    result = json.loads(run_json)
    assert set(result) == {"config", "runs"}
    config = result["config"]
    assert config["dataset"] == "blobs" and config["steps"] == 200 and config["device"] == "cpu"
    assert config["eps"] == 0.1 and config["seed"] == 0
    assert set(result["runs"]) == {"baseline", "smoothed"}
    check_run(result["runs"]["baseline"], 0.0, 200)
    check_run(result["runs"]["smoothed"], 0.1, 200)


def test_same_seed_gives_byte_identical_json(run_json: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = in_process(capsys, *RUN_ARGS)  # another process, the same bytes
    torch.set_num_threads(1)
    assert code == 0
    assert out == run_json
    code, other, _ = in_process(capsys, *RUN_ARGS, "--seed", "1")
    assert code == 0 and other != run_json


def test_run_flags_reach_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = in_process(
        capsys, "run", "--json", "--quiet", "--steps", "20", "--device", "cpu", "--dataset", "iris", "--eps", "0.3",
        "--seed", "4", "--lr", "0.02", "--batch-size", "32", "--hidden", "12", "--penultimate", "5",
        "--label-noise", "0.1", "--ordered",
    )
    assert code == 0
    result = json.loads(out)
    c = result["config"]
    assert (c["dataset"], c["eps"], c["seed"], c["lr"], c["batch_size"]) == ("iris", 0.3, 4, 0.02, 32)
    assert (c["hidden"], c["penultimate"], c["label_noise"], c["ordered"]) == (12, 5, 0.1, True)
    check_run(result["runs"]["smoothed"], 0.3, 20)


def test_run_without_json_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = in_process(capsys, "run", "--steps", "30", "--device", "cpu")
    assert code == 0
    assert "baseline" in out and "smoothed" in out and "logit_gap" in out and "loss_floor" in out
    assert "30/30" in err  # the progress bar goes to stderr


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--eps", "1.5"], ["eps", "1"]),
        (["--eps", "-0.1"], ["eps", "0"]),
        (["--eps", "nan"], ["eps"]),
        (["--dataset", "mnist"], ["mnist", "blobs"]),
        (["--steps", "-5"], ["--steps", "-5"]),
        (["--device", "tpu"], ["device"]),
        (["--lr", "abc"], ["--lr", "abc"]),
        (["--lr", "0"], ["lr"]),
        (["--label-noise", "0.9"], ["label_noise"]),
        (["--similarity", "2"], ["similarity"]),
        (["--batch-size", "0"], ["batch_size"]),
        (["--bogus"], ["--bogus"]),
    ],
)
def test_bad_run_flags_give_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], needles: list[str]
) -> None:
    assert_usage_error(*in_process(capsys, "run", "--steps", "5", *args), *needles)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is absent")
def test_cuda_without_cuda_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*in_process(capsys, "run", "--steps", "5", "--device", "cuda"), "CUDA")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*in_process(capsys))


def test_bad_flag_in_a_real_process_exits_2_without_traceback() -> None:
    done = cli("run", "--eps", "2", "--steps", "5")
    assert_usage_error(done.returncode, done.stdout, done.stderr, "eps")


# ---- sweep --------------------------------------------------------------------------------------------
def test_sweep_json_csv_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path, html_path = tmp_path / "sweep.csv", tmp_path / "sweep.html"
    code, out, _ = in_process(
        capsys, "sweep", "--eps", "0:0.2:0.1", "--steps", "100", "--device", "cpu", "--quiet", "--json",
        "--out-csv", str(csv_path), "--html", str(html_path),
    )
    assert code == 0 and out.count("\n") == 1
    result = json.loads(out)
    assert set(result) == {"config", "runs"}
    assert result["config"]["eps"] == [0.0, 0.1, 0.2] and result["config"]["steps"] == 100
    runs = result["runs"]
    assert [r["eps"] for r in runs] == [0.0, 0.1, 0.2]
    for run in runs:
        check_run(run, run["eps"], 100)
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and set(rows[0]) >= RUN_KEYS
    for row, run in zip(rows, runs, strict=True):
        assert float(row["eps"]) == run["eps"]
        assert float(row["train_loss"]) == pytest.approx(run["train_loss"])
        assert row["optimal_logit_gap"] == ("" if run["eps"] == 0 else str(run["optimal_logit_gap"]))
    html = html_path.read_text()
    assert html.lstrip().lower().startswith("<html") or html.lstrip().lower().startswith("<!doctype")
    # works offline: every script is inline (none has a src), and apart from the inlined plotly.js bundle
    # (whose option defaults mention CDN URLs it never fetches for cartesian charts) no CDN is named
    tags = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert tags and all("src" not in attrs for attrs, _ in tags)
    library = max((body for _, body in tags), key=len)
    assert "plotly.js" in library[:2000].lower() or "plotly" in library[:2000]
    rest = html.replace(library, "")
    assert "cdn." not in rest and "http" not in "".join(attrs for attrs, _ in tags)
    assert "train logit gap" in rest


def test_sweep_comma_list_is_sorted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = in_process(capsys, "sweep", "--eps", "0.3,0,0.05", "--steps", "10", "--device", "cpu",
                              "--quiet", "--json")
    assert code == 0
    assert [r["eps"] for r in json.loads(out)["runs"]] == [0.0, 0.05, 0.3]  # one rule with the sweep page: sorted


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("0:0.2:0", "step"),
        ("0:0.2:-0.1", "step"),
        ("0:1.5:0.5", "between 0 and 1"),
        ("0.1,1.2", "between 0 and 1"),
        ("abc", "abc"),
        ("0:0.5", "START:STOP:STEP"),
        ("1:0:0.1", "no ε values"),
        ("0:1:0.01", "at most"),
        (",", "no ε values"),
        ("0:inf:0.1", "inf"),
        ("0:nan:0.1", "nan"),
    ],
)
def test_bad_sweep_specs_give_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], spec: str, needle: str
) -> None:
    assert_usage_error(*in_process(capsys, "sweep", "--eps", spec, "--steps", "5"), "--eps", needle)


def test_unwritable_report_path_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "out.csv"
    code, out, err = in_process(capsys, "sweep", "--eps", "0,0.1", "--steps", "2", "--device", "cpu", "--quiet",
                                "--out-csv", str(target))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "out.csv" in err
