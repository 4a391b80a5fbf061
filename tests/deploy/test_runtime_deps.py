"""What the Docker image leaves out is not needed to serve: scikit-learn, scipy and plotly are test and report
extras (pyproject.toml), the datasets ship in the package, and `sweep --html` without plotly says what to
install. Checked in a fresh interpreter where importing any of them fails, as in the image."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.support.server import REPO

LEFT_OUT = ("sklearn", "scipy", "plotly")
BLOCK = f"import sys\nfor name in {LEFT_OUT!r}:\n    sys.modules[name] = None  # import fails, as in the image\n"


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=REPO, capture_output=True, text=True,
                          timeout=240)


def test_the_runtime_dependencies_leave_them_out() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    for name in ("scikit-learn", "scipy", "plotly"):
        assert name not in runtime, name
    assert any(d.startswith("plotly") for d in project["optional-dependencies"]["report"])
    test = " ".join(project["optional-dependencies"]["test"])
    assert "scikit-learn" in test and "plotly" in test
    assert "segno" in runtime  # the room page's QR code is drawn at run time


def test_the_server_and_a_table_dataset_run_without_them() -> None:
    out = python(
        "import warnings; warnings.simplefilter('ignore')\n"
        "from starlette.testclient import TestClient\n"
        "from app.engine.config import RunConfig\n"
        "from app.engine.session import TrainingSession\n"
        "from app.server.app import create_app\n"
        "from app.server.settings import Settings\n"
        "with TestClient(create_app(Settings(device='cpu'))) as http:\n"
        "    assert http.get('/').status_code == 200 and http.get('/sweep').status_code == 200\n"
        "session = TrainingSession(RunConfig(dataset='wine', device='cpu'))\n"
        "session.step(5)\n"
        "session.snapshot()\n"
        "print('wine', session.step_count, session.data.input_dim)\n"
        f"print('left out:', [n for n in {LEFT_OUT!r} if sys.modules.get(n) is not None])\n")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "wine 5 13" in out.stdout and "left out: []" in out.stdout, out.stdout


def test_sweep_html_without_plotly_says_what_to_install() -> None:
    out = python("import app.__main__ as cli\n"
                 "sys.exit(cli.main(['sweep', '--eps', '0,0.1', '--steps', '2', '--quiet', '--html', 'x.html']))")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.strip().endswith(
        "--html needs the plotly package: pip install 'label-smoothing-explorer[report]'")
    assert not (REPO / "x.html").exists()
