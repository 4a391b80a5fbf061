"""The CUDA path (marked gpu: skipped without a CUDA device; CI has none)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from app.engine.session import TrainingSession
from app.protocol.messages import RunConfig

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_cuda_session_matches_cpu() -> None:
    cpu = TrainingSession(RunConfig(device="cpu", eps=0.1))
    gpu = TrainingSession(RunConfig(device="cuda", eps=0.1))
    assert gpu.device.type == "cuda"
    cpu.step(300)
    gpu.step(300)
    for a, b in zip(cpu.snapshot().runs, gpu.snapshot().runs, strict=True):
        assert a.metrics["train_loss"] == pytest.approx(b.metrics["train_loss"], rel=1e-3, abs=1e-4)
        assert a.metrics["logit_gap"] == pytest.approx(b.metrics["logit_gap"], rel=1e-3)


def test_cuda_theory_gap() -> None:
    s = TrainingSession(RunConfig(device="cuda", eps=0.1))
    s.step(3000)
    smoothed = s.snapshot().runs[1].metrics
    assert smoothed["logit_gap"] == pytest.approx(3.332, rel=0.05)


def test_cli_on_cuda() -> None:
    out = subprocess.run([sys.executable, "-m", "app", "run", "--device", "cuda", "--steps", "200", "--json",
                          "--quiet"], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["config"]["device"].startswith("cuda")


def test_a_batched_group_on_cuda_gives_the_numbers_of_cpu() -> None:
    """Four sessions stepped and snapshotted as one bank on the GPU equal the same group on the CPU (1e-4)."""
    from app.engine.batch import snapshot_sessions, step_sessions

    def group(device: str) -> list[TrainingSession]:
        return [TrainingSession(RunConfig(device=device, seed=s, eps=0.05 * s)) for s in range(4)]

    cpu, gpu = group("cpu"), group("cuda")
    for _ in range(4):  # few steps: float32 kernels differ, and training amplifies the differences
        step_sessions(cpu, 5)
        step_sessions(gpu, 5)
    for a, b in zip(snapshot_sessions(cpu, [True] * 4, [True] * 4), snapshot_sessions(gpu, [True] * 4, [True] * 4),
                    strict=True):
        assert a.step == b.step == 20
        for ra, rb in zip(a.runs, b.runs, strict=True):
            for key in ("train_loss", "val_acc", "logit_gap", "ece", "ece_ts", "dist_correct"):
                if ra.metrics.get(key) is not None:
                    assert ra.metrics[key] == pytest.approx(rb.metrics[key], rel=1e-4, abs=1e-4), key
