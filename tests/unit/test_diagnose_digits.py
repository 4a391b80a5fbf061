"""A real network on real data (issue 23): a small CNN on scikit-learn's 8 × 8 digits (all ten classes, CPU),
trained once with ε = 0 and once with ε = 0.1 (same initial weights, same batches), dumped by the code block of
docs/diagnose.md as it stands (so the docs cannot rot), then diagnosed: the smoothed network's wrong templates are
more nearly equidistant and its train logit gap is closer to ln(1 + K(1 − ε)/ε) (SCIENCE.md §2, §4)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from app.diagnose.reader import read_dump
from app.diagnose.report import build_report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnose.md"
EPS = 0.1
EPOCHS = 30


def documented_code() -> str:
    """The Python block docs/diagnose.md says this test runs."""
    text = DOCS.read_text()
    marker = text.index("tests/unit/test_diagnose_digits.py runs the code block below")
    match = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert match, "docs/diagnose.md has no Python block after its marker"
    return match.group(1)


class DigitsNet(nn.Module):
    """Two convolutions, a 64-unit penultimate layer, a linear classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(32 * 4 * 4, 64), nn.ReLU())
        self.classifier = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body(x))


def digits_data() -> dict[str, Any]:
    """scikit-learn's 8 × 8 digits as images in [0, 1]: 1,200 training and 597 validation points, and their names."""
    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)  # (1797, 1, 8, 8)
    y = torch.tensor(data.target)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, val = order[:1200], order[1200:]
    return {"train": TensorDataset(x[train], y[train]), "val": TensorDataset(x[val], y[val]),
            "names": [f"digit {d}" for d in range(10)]}


@pytest.fixture(scope="module")
def digits() -> dict[str, Any]:
    return digits_data()


def trained(eps: float, digits: dict[str, Any]) -> nn.Module:
    """The CNN after EPOCHS epochs of Adam on the smoothed loss (seeded: the same weights and batches for every ε)."""
    torch.manual_seed(0)
    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    batches = DataLoader(digits["train"], batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(1))
    model.train()
    for _ in range(EPOCHS):
        for x, y in batches:
            opt.zero_grad()
            F.cross_entropy(model(x), y, label_smoothing=eps).backward()
            opt.step()
    return model


def dump(code: str, model: nn.Module, digits: dict[str, Any], folder: Path) -> None:
    """Run the documented code on `model` and the digits in `folder`, where it saves mynet.npz and .safetensors."""
    scope = {"model": model, "class_names": digits["names"],
             "train_loader": DataLoader(digits["train"], batch_size=256),
             "val_loader": DataLoader(digits["val"], batch_size=256)}
    cwd = Path.cwd()
    try:
        os.chdir(folder)
        exec(compile(code, str(DOCS), "exec"), scope)  # the documented code, as it stands
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def reports(digits: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[float, dict[str, Any]]:
    """Each network dumped by the documented code (both formats) and diagnosed with ε = 0.1's theory."""
    code = documented_code()
    out: dict[float, dict[str, Any]] = {}
    for eps in (0.0, EPS):
        folder = tmp_path_factory.mktemp(f"eps-{eps}")
        dump(code, trained(eps, digits), digits, folder)
        npz = build_report(read_dump((folder / "mynet.npz").read_bytes()), eps=EPS)
        safetensors = build_report(read_dump((folder / "mynet.safetensors").read_bytes()), eps=EPS)
        assert {**npz, "format": None} == {**safetensors, "format": None}, "the two formats disagree"
        out[eps] = npz
    return out


def test_the_documented_code_dumps_what_the_network_computes(reports: dict[float, dict[str, Any]]) -> None:
    for report in reports.values():
        assert (report["k"], report["d"], report["n_train"], report["n_val"]) == (10, 64, 1200, 597)
        assert report["class_names"][3] == "digit 3"
        assert report["train_accuracy"] > 0.97 and report["accuracy"] > 0.9  # it learned the digits


def test_smoothing_makes_the_wrong_templates_more_equidistant(reports: dict[float, dict[str, Any]]) -> None:
    one_hot, smoothed = reports[0.0], reports[EPS]
    assert smoothed["spread"] < one_hot["spread"]


def test_smoothing_brings_the_train_gap_to_the_theory(reports: dict[float, dict[str, Any]]) -> None:
    one_hot, smoothed = reports[0.0], reports[EPS]
    theory = math.log(1 + 10 * (1 - EPS) / EPS)  # ln 91
    assert smoothed["gap"]["theory"] == pytest.approx(theory)
    assert abs(smoothed["gap"]["mean"] - theory) < abs(one_hot["gap"]["mean"] - theory)


def test_the_plane_shows_the_chosen_classes(reports: dict[float, dict[str, Any]]) -> None:
    for report in reports.values():
        proj = report["projection"]
        assert len(proj["train"]) == 300 and len(proj["templates"]) == 3
        assert set(proj["train_labels"]) == set(report["classes"])
        assert np.isfinite(np.array(proj["train"])).all()
