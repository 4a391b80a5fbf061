"""`python -m app diagnose` (issue 23): exit status 0 with the report (a table, --json, --html), 2 with one line on
stderr for a bad file or flag; the offline HTML report is self-contained and needs no `plotly` package."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.__main__ import main
from app.diagnose.html import bundle, render_html
from app.diagnose.reader import read_dump
from app.diagnose.report import build_report, report_json
from tests.support.diagnose import network, npz_bytes, safetensors_bytes

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def npz_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.npz"
    path.write_bytes(npz_bytes(network(k=6, names=True)))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["diagnose", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_the_report_in_one_line(npz_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(npz_file), "--json", "--eps", "0.1", "--classes", "kind 1,2,kind 5",
                         "--points-per-class", "20")
    assert code == 0 and err == ""
    assert out.endswith("\n") and out.count("\n") == 1
    expected = build_report(read_dump(npz_file.read_bytes()), "kind 1,2,kind 5", 0.1, 20)
    assert out[:-1] == report_json(expected)
    report = json.loads(out)
    assert report["classes"] == [1, 2, 5] and report["eps"] == 0.1 and len(report["projection"]["train"]) == 60


def test_safetensors_gives_the_same_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arrays = network(k=6, names=True)
    (tmp_path / "a.npz").write_bytes(npz_bytes(arrays))
    (tmp_path / "a.safetensors").write_bytes(safetensors_bytes(arrays))
    _, from_npz, _ = run(capsys, str(tmp_path / "a.npz"), "--json")
    _, from_safetensors, _ = run(capsys, str(tmp_path / "a.safetensors"), "--json")
    a, b = json.loads(from_npz), json.loads(from_safetensors)
    assert (a.pop("format"), b.pop("format")) == ("npz", "safetensors")
    assert a == b


def test_without_json_a_short_table(npz_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(npz_file), "--eps", "0.2")
    assert code == 0
    report = build_report(read_dump(npz_file.read_bytes()), eps=0.2)
    lines = out.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "classes", "plane", "accuracy (validation)", "NLL", "ECE (15 bins)", "logit gap", "wrong-template spread",
        "similar-class share"]
    assert f"{report['ece']:.4g}" in out and f"theory {report['gap']['theory']:.4g} at ε = 0.2" in out


def test_html_is_one_self_contained_file(npz_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "report.html"
    code, out, err = run(capsys, str(npz_file), "--html", str(out_file))
    assert code == 0 and err.strip() == f"wrote {out_file}"
    html = out_file.read_text(encoding="utf-8")
    assert html == render_html(build_report(read_dump(npz_file.read_bytes())))
    assert "plotly.js (cartesian - minified) v4.1.1" in html
    assert re.search(r"<script[^>]+\bsrc=|<link[^>]+\bhref=|@import|url\(http", html) is None  # nothing fetched
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert data is not None
    assert json.loads(data.group(1)) == build_report(read_dump(npz_file.read_bytes()))
    tags = re.findall(r'^<script(?: type="[^"]+")?(?: id="[^"]+")?>', html, re.M)
    assert tags == ["<script>", '<script type="application/json" id="report-data">', '<script type="module">']
    assert html.split('<script type="module">', 1)[1].count("</script") == 1  # nothing in the code ends it early


def test_html_needs_no_plotly_package(npz_file: Path, tmp_path: Path) -> None:
    """The server's image has no plotly: the report is built without it (a fresh interpreter where it cannot load)."""
    code = ("import sys\nsys.modules['plotly'] = None\nimport app.__main__ as cli\n"
            f"sys.exit(cli.main(['diagnose', {str(npz_file)!r}, '--html', {str(tmp_path / 'r.html')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.html").stat().st_size > 1_000_000


@pytest.mark.parametrize(("args", "line"), [
    (["--eps", "abc"], "argument --eps: invalid float value: 'abc'"),
    (["--eps", "2"], "ε must be between 0 and 1, got 2."),
    (["--points-per-class", "0"], "Points per class must be between 1 and 2000, got 0."),
    (["--classes", "kind 1,kind 1,2"], "The three classes must be different."),
    (["--classes", "owl,1,2"], "'owl' is not one of the file's classes: an index 0..5 or a name."),
    (["--max-mb", "0"], "The size cap must be a positive number of MB, got 0."),
])
def test_bad_flags_are_one_line_and_exit_2(npz_file: Path, args: list[str], line: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(npz_file), *args)
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"python -m app: error: {line}"]


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(tmp_path / "nowhere.npz"))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"python -m app: error: No such file or directory ({tmp_path / 'nowhere.npz'})"]


def test_a_file_over_the_cap_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.npz"
    path.write_bytes(npz_bytes(network(n=20_000, v=0)))  # 0.9 MB
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the file was read"))
    code, _, err = run(capsys, str(path), "--max-mb", "0.5")
    assert code == 2
    assert err.strip() == f"python -m app: error: The file is {path.stat().st_size / 1e6:.3g} MB, over the 0.5 MB cap."


def test_a_real_process_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a network")
    done = subprocess.run([sys.executable, "-m", "app", "diagnose", str(bad)], cwd=REPO, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == ["python -m app: error: The file is neither an .npz nor a .safetensors file."]


def test_the_bundle_holds_each_module_once_after_what_it_imports() -> None:
    text = bundle()
    order = re.findall(r"^// (\S+)$", text, re.M)
    assert order[-1] == "diagnose/standalone.js" and len(order) == len(set(order))
    for later, earlier in (("explorer/plane.js", "explorer/layer.js"), ("explorer/layer.js", "lib/plots.js"),
                           ("diagnose/show.js", "explorer/bars.js"), ("diagnose/show.js", "diagnose/adapt.js")):
        assert order.index(earlier) < order.index(later)
    assert not re.search(r"^\s*(import|export)\b", text, re.M)


@pytest.mark.parametrize("source", ['export default 1;\n', 'import * as x from "./b.js";\n', 'import "./b.js";\n'])
def test_the_bundler_refuses_forms_it_does_not_take(tmp_path: Path, source: str) -> None:
    (tmp_path / "a.js").write_text(source)
    (tmp_path / "b.js").write_text("export const b = 1;\n")
    with pytest.raises(ValueError, match="does not take"):
        bundle("a.js", tmp_path)
