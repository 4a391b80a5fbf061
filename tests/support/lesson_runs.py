"""The runs a lesson step puts the explorer in, trained here so the lesson's claims can be checked (docs/lessons.md).

A step's settings become the engine's objects the way the pages build them: a scenario's config, then the step's
own config changes, then its ε (engine/scenarios.py, engine/config.py). Runs are cached by their settings, so
the claims that read the same run train it once; every run is seeded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from app.engine.config import RunConfig
from app.engine.distill import DistillSession, DistillSettings
from app.engine.loss import bank_smoothed_cross_entropy
from app.engine.scenarios import SCENARIOS
from app.engine.session import TrainingSession
from app.lessons import Step

SCENARIO = {s.key: s for s in SCENARIOS}
Metrics = dict[str, dict[str, float | None]]  # run name → metric → value


def run_config(step: Step, seed: int | None = None) -> RunConfig:
    """The RunConfig a step's settings give (its scenario, then its config, then its ε), at `seed` if given,
    on the CPU."""
    settings = step.settings
    changes: dict[str, Any] = {}
    if "scenario" in settings:
        changes.update(SCENARIO[settings["scenario"]].config)
    changes.update(settings.get("config", {}))
    if isinstance(settings.get("eps"), float | int):
        changes["eps"] = settings["eps"]
    if seed is not None:
        changes["seed"] = seed
    return RunConfig().replace(**changes, device="cpu")  # the same numbers on every machine


def distill_settings(step: Step) -> DistillSettings:
    """The distillation lab's settings a step gives (T and α; the lab's defaults for the rest)."""
    return DistillSettings().replace(**{k: float(step.settings[k]) for k in ("temperature", "alpha")
                                        if k in step.settings})


def value(metrics: Metrics, run: str, name: str) -> float:
    """One metric of one run, which must be a finite number."""
    v = metrics[run][name]
    assert v is not None and np.isfinite(v), f"{run} {name} is {v}"
    return float(v)


@dataclass(frozen=True)
class Twin:
    """A trained twin: its metrics at each checkpoint, and the session as it ended (read it, do not step it)."""

    session: TrainingSession
    at: dict[int, Metrics]

    @property
    def last(self) -> Metrics:
        return self.at[max(self.at)]


@functools.cache
def twin(config: RunConfig, checkpoints: tuple[int, ...]) -> Twin:
    """The one-hot and smoothed runs of `config`, trained to each checkpoint in turn."""
    session = TrainingSession(config)
    at = {}
    for c in checkpoints:
        session.step(c - session.step_count)
        at[c] = session.run_metrics()
    return Twin(session, at)


@functools.cache
def sweep(config: RunConfig, eps: tuple[float, ...], steps: int) -> Metrics:
    """One model per ε (the room's sweep, as engine/session.py trains a sweep), trained `steps` steps."""
    session = TrainingSession(config, sweep_eps=eps)
    session.step(steps)
    return session.run_metrics()


@functools.cache
def lab(config: RunConfig, settings: DistillSettings) -> Metrics:
    """The distillation lab run to its end: teachers, then students (engine/distill.py)."""
    session = DistillSession(config, settings)
    total = settings.teacher_steps + settings.student_steps
    while session.step_count < total:
        if not session.step(1000):
            raise AssertionError(session.diverged or "the lab stopped early")
    return session.run_metrics()


@torch.no_grad()
def logits(session: TrainingSession) -> torch.Tensor:
    """Every model's logits on the training points: (M, N, K)."""
    z: torch.Tensor = session.bank(session.x_train)[1]
    return z


def wrong_logit_difference(session: TrainingSession) -> dict[str, float]:
    """Per run, the mean over training points of |z_a − z_b|, the two wrong logits' difference."""
    z = logits(session)  # (M, N, K)
    y = session.y_train
    a = z.gather(-1, ((y + 1) % 3).view(1, -1, 1).expand(z.shape[0], -1, 1)).squeeze(-1)  # (M, N)
    b = z.gather(-1, ((y + 2) % 3).view(1, -1, 1).expand(z.shape[0], -1, 1)).squeeze(-1)
    return dict(zip(session.names, (a - b).abs().mean(-1).tolist(), strict=True))


def fitted_flipped(session: TrainingSession) -> dict[str, tuple[int, float, float]]:
    """Per run: how many flipped training points it predicts as their (wrong) training label, and its mean and
    highest probability for that label on them (NaN when none)."""
    p = logits(session).softmax(-1)  # (M, N, K)
    flipped = torch.as_tensor(session.data.flipped)
    y = session.y_train[flipped]
    out = {}
    for m, name in enumerate(session.names):
        pm = p[m, flipped]  # (F, K)
        fit = pm.argmax(-1) == y
        p_label = pm[fit].gather(-1, y[fit].unsqueeze(-1)).squeeze(-1)
        if not fit.any():
            out[name] = (0, float("nan"), float("nan"))
        else:
            out[name] = (int(fit.sum()), float(p_label.mean()), float(p_label.max()))
    return out


@functools.cache
def first_passes(config: RunConfig, passes: int) -> dict[str, np.ndarray]:
    """Per run, its own training loss over every training point before each step of the first `passes` passes
    through the data (what the page's loss chart draws), as an array (steps,)."""
    session = TrainingSession(config)
    steps = passes * -(-session.data.y_train.size // config.batch_size)
    eps = torch.tensor(session.eps_values)
    losses = []
    for _ in range(steps):
        with torch.no_grad():
            losses.append(bank_smoothed_cross_entropy(logits(session), session.y_train, eps).tolist())
        session.step(1)
    trace = np.array(losses)  # (steps, M)
    return {name: trace[:, m] for m, name in enumerate(session.names)}
