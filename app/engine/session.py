"""TrainingSession: a bank of models (the twin, or an ε sweep) with its data, optimizer and snapshots.

The twin is two models, ε = 0 ("baseline") and ε ("smoothed"), with identical initial weights and
identical minibatches; a sweep is one model per ε. No I/O and no asyncio: the CLI, the WebSocket
endpoint and the tests all drive it the same way. Blog §5 (Eq 3–5) says what it converges to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from . import measure as M
from .bank import ModelBank, make_optimizer, resolve_device
from .config import CSV, K, RunConfig, check, check_run_size
from .data import Dataset, class_order, make_dataset

if TYPE_CHECKING:
    from .tabular import CsvData

BASELINE, SMOOTHED = "baseline", "smoothed"  # the twin's runs: ε = 0 and the chosen ε
TWIN_NAMES = (BASELINE, SMOOTHED)
REGION_GRID = 48  # decision-region grid for 2-D datasets: 48 × 48 cells
DIVERGED_LOSS = 1e3  # nats: a loss this large (or NaN/inf) means training has blown up


@dataclass
class RunSnapshot:
    """One model's state at a snapshot: metrics (JSON-safe) and arrays for the display subsample."""

    name: str
    eps: float
    points: np.ndarray  # (S, 2) projection onto the template plane
    templates: np.ndarray  # (3, 2)
    class_distances: np.ndarray  # (3, 3) mean ‖x̃ − w̃_k‖ over the points of class c (row c, column k)
    probs: np.ndarray  # (S, 3) for the display subsample
    pred: np.ndarray  # (S,) uint8 predicted class
    confidence: np.ndarray  # (S,) uint8 round(255 · max probability)
    extent: float  # the larger side of the box around the points and templates (the frame's grid follows it)
    reliability: M.Reliability  # on the validation set
    metrics: dict[str, float | None]  # measured at step metrics["steps"]
    reliability_ts: M.Reliability | None = None  # the baseline after temperature scaling
    region_class: np.ndarray | None = None  # (G·G,) argmax over the input-space grid
    region_conf: np.ndarray | None = None  # (G·G,) max probability there


@dataclass
class Snapshot:
    step: int
    runs: list[RunSnapshot]
    labels: np.ndarray  # (S,) training labels of the display subsample (as the model was told)
    true_labels: np.ndarray  # (S,) clean labels
    flipped: np.ndarray  # (S,) bool, label noise changed this point's label
    diverged: str | None = None
    inputs: np.ndarray | None = None  # (S, 2) raw input positions (2-D datasets, with regions)
    region_extent: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1
    inspect: dict[str, Any] | None = None  # the inspected point's numbers (batch.inspect_point)


class TrainingSession:
    """Step, change ε or the learning rate live, reset, and snapshot a bank of models."""

    def __init__(self, config: RunConfig | None = None, sweep_eps: Sequence[float] | None = None,
                 table: CsvData | None = None) -> None:
        self.reset(config or RunConfig(), sweep_eps, table)

    # ---- lifecycle ---------------------------------------------------------------------------
    def reset(self, config: RunConfig, sweep_eps: Sequence[float] | None = None, table: CsvData | None = None) -> None:
        """Start again from step 0 with `config` (and, for a sweep, one model per ε in `sweep_eps`); `table`:
        the rows of the session's CSV file, used when config.dataset is "csv".

        Raises ConfigError (state unchanged) for a run too large to serve, before building anything.
        """
        table = table if config.dataset == CSV else None
        points = int(table.summary["train"]) if table is not None else None
        check_run_size(config, len(sweep_eps) if sweep_eps is not None else len(TWIN_NAMES), points)
        for e in sweep_eps or ():
            check("eps", e)
        device = resolve_device(config.device)
        data = make_dataset(
            config.dataset,
            points=config.points,
            similarity=config.similarity,
            label_noise=config.label_noise,
            seed=config.seed,
            table=table,
        )
        self.config, self.data, self.device = config, data, device
        self.is_sweep = sweep_eps is not None
        self.eps_values = [float(e) for e in sweep_eps] if sweep_eps is not None else [0.0, config.eps]
        self.names = [f"eps={e:g}" for e in self.eps_values] if self.is_sweep else list(TWIN_NAMES)
        self.bank = ModelBank(
            len(self.eps_values), data.input_dim, config.hidden, config.penultimate, K,
            seed=config.seed, device=device,
        )
        self.opt = make_optimizer(self.bank, config.optimizer, config.lr, weight_decay=config.weight_decay)
        self.lr = config.lr
        self._eps_t = torch.tensor(self.eps_values, device=device)
        self.x_train = torch.as_tensor(data.x_train, device=device)
        self.y_train = torch.as_tensor(data.y_train, device=device)
        self.x_val = torch.as_tensor(data.x_val, device=device)
        self.y_val = torch.as_tensor(data.y_val, device=device)
        n = data.y_train.size
        self._gen = torch.Generator().manual_seed(config.seed + 1)
        self._full_batch = config.batch_size >= n
        self._order = (
            torch.as_tensor(class_order(data.y_train), device=device) if config.ordered else self._permutation()
        )
        self._cursor = 0
        self.step_count = 0
        self.diverged: str | None = None
        self.inspect_index: int | None = None  # a display point whose numbers every snapshot carries
        self._good = self.bank.flat.detach().clone()  # the last weights known to give a finite loss
        self._good_step = 0
        self._basis: torch.Tensor | None = None
        self._x_all = torch.cat([self.x_train, self.x_val])  # one forward pass for both sets
        self._labels = M.Labels.build(self.y_train, self.y_val, torch.as_tensor(data.y_true, device=device),
                                      len(self.eps_values))
        self.display_idx = _display_subsample(data, config.display_points, config.seed)
        self._display_t = torch.as_tensor(self.display_idx, device=device)
        self._x_display = self.x_train[self._display_t]
        self._measured: list[dict[str, Any]] | None = None
        self._grid, self.region_extent = _region_grid(data, device)

    def set_eps(self, eps: float) -> None:
        """Change the smoothed run's ε; it takes effect at the next step, without a reset."""
        if self.is_sweep:
            raise ValueError("a sweep's ε values are fixed; start a new sweep to change them")
        check("eps", eps)
        self.eps_values[self.names.index(SMOOTHED)] = float(eps)
        self._eps_t = torch.tensor(self.eps_values, device=self.device)

    @property
    def smoothed_eps(self) -> float | None:
        """The twin's smoothed run's ε (None in a sweep, where every run has its own)."""
        return None if self.is_sweep else self.eps_values[self.names.index(SMOOTHED)]

    def set_lr(self, lr: float) -> None:
        """Change the learning rate live; after a divergence, a new rate lets training go on."""
        check("lr", lr)
        self.lr = lr
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.diverged = None

    # ---- training ----------------------------------------------------------------------------
    def _permutation(self) -> torch.Tensor:
        return torch.randperm(self.data.y_train.size, generator=self._gen).to(self.device)

    def _next_batch(self) -> torch.Tensor | None:
        """Indices of the next minibatch (None: the full batch). Shuffled per epoch unless ordered."""
        if self._full_batch:
            return None
        b, n = self.config.batch_size, self._order.numel()
        end = self._cursor + b
        if end < n:
            idx = self._order[self._cursor : end]
            self._cursor = end
            return idx
        if end == n:  # the epoch ends exactly here: the next batch starts a fresh permutation
            idx = self._order[self._cursor :]
            if not self.config.ordered:
                self._order = self._permutation()
            self._cursor = 0
            return idx
        head = self._order[self._cursor :]
        if not self.config.ordered:
            self._order = self._permutation()
        self._cursor = end - n
        return torch.cat([head, self._order[: self._cursor]])

    def step(self, n: int = 1) -> int:
        """Take up to n optimizer steps for every model; returns how many were taken (0 once diverged).

        The same code steps many sessions as one batch on the server (engine/batch.py): alone is a batch of one.
        """
        from .batch import step_sessions

        return step_sessions([self], n)[0]

    def _diverge(self) -> None:
        """Stop on NaN/inf: go back to the last weights with a finite loss, with a fresh optimizer."""
        self.diverged = (
            f"training diverged at step {self.step_count} (learning rate too high?); reset or lower it"
        )
        with torch.no_grad():
            self.bank.flat.copy_(self._good)
        self.step_count = self._good_step
        self.opt = make_optimizer(self.bank, self.config.optimizer, self.lr, weight_decay=self.config.weight_decay)

    # ---- snapshots ---------------------------------------------------------------------------
    def snapshot(self, regions: bool = False, metrics: bool = True) -> Snapshot:
        """Everything a frame needs for every run: metrics over all points, arrays for a subsample.

        metrics=False reuses the last metrics (each run's metrics carry the step they were measured
        at) and only moves the display subsample: the live path measures every few frames and
        animates the points on every frame. Neither ever returns NaN: see `_diverge`.
        """
        from .batch import snapshot_sessions

        return snapshot_sessions([self], [regions], [metrics])[0]

    def _make_snapshot(self, points: np.ndarray, templates: np.ndarray, probs: np.ndarray,
                       grid: tuple[np.ndarray, np.ndarray] | None, shown: tuple[np.ndarray, ...]) -> Snapshot:
        """The snapshot from this session's arrays (M, ...) and its last measured metrics; `shown`: (pred,
        confidence, extent) per model, computed with the group's (batch.snapshot_sessions)."""
        runs = []
        pred, confidence, extent = shown
        for m, measured in enumerate(self._measured or []):
            run = RunSnapshot(name=self.names[m], eps=self.eps_values[m], points=points[m],
                              templates=templates[m], probs=probs[m], pred=pred[m], confidence=confidence[m],
                              extent=float(extent[m]), **measured)
            if grid is not None:
                run.region_conf, run.region_class = grid[0][m], grid[1][m]
            runs.append(run)
        idx = self.display_idx
        snap = Snapshot(
            step=self.step_count, runs=runs, labels=self.data.y_train[idx], true_labels=self.data.y_true[idx],
            flipped=self.data.flipped[idx], diverged=self.diverged,
        )
        if grid is not None:
            snap.inputs = self.data.x_train[idx]
            snap.region_extent = self.region_extent
        return snap

    def source_row(self, point: int) -> dict[str, Any] | None:
        """Training point `point`'s row in the CSV file it came from ({line, cells}), None for other datasets."""
        data = self.data
        if data.source is None or data.source_rows is None:
            return None
        return data.source.row(int(data.source_rows[point]))

    def run_metrics(self) -> dict[str, dict[str, float | None]]:
        """The latest metrics per run name (takes a snapshot)."""
        return {r.name: r.metrics for r in self.snapshot().runs}


def _display_subsample(data: Dataset, count: int, seed: int) -> np.ndarray:
    """Up to count/3 training points per (clean) class, fixed per reset: the paper shows 100 per class."""
    rng = np.random.default_rng(seed + 7)
    per_class = max(count // K, 1)
    picks = [rng.permutation(np.flatnonzero(data.y_true == c))[:per_class] for c in range(K)]
    return np.sort(np.concatenate(picks))


Extent = tuple[float, float, float, float]


def _region_grid(data: Dataset, device: torch.device) -> tuple[torch.Tensor | None, Extent | None]:
    """A G × G grid over the training inputs (2-D datasets only), row-major from (x0, y0)."""
    if data.input_dim != 2:
        return None, None
    lo, hi = data.x_train.min(axis=0), data.x_train.max(axis=0)
    pad = 0.15 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    xs = np.linspace(lo[0], hi[0], REGION_GRID)
    ys = np.linspace(lo[1], hi[1], REGION_GRID)
    gx, gy = np.meshgrid(xs, ys)  # row = y
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    return torch.as_tensor(grid, device=device), (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
