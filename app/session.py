"""TrainingSession: a bank of models (the twin, or an ε sweep) with its data, optimizer and snapshots.

The twin is two models, ε = 0 ("baseline") and ε ("smoothed"), with identical initial weights and
identical minibatches; a sweep is one model per ε. No I/O and no asyncio: the CLI, the WebSocket
endpoint and the tests all drive it the same way. Blog §5 and SCIENCE.md §2 say what it converges to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from . import metrics as M
from .data import K, Dataset, class_order, make_dataset
from .geometry import distance_summary, project_to_template_plane
from .loss import bank_smoothed_cross_entropy, loss_floor, optimal_logit_gap
from .model import ModelBank, make_optimizer, resolve_device, train_step
from .schema import RunConfig, finite

TWIN_NAMES = ("baseline", "smoothed")
REGION_GRID = 48  # decision-region grid for 2-D datasets: 48 × 48 cells
TEMPERATURE_EVERY = 10  # refit the baseline's temperature every this many snapshots
HISTORY_CAP = 4_000


@dataclass
class RunSnapshot:
    """One model's state at a snapshot: metrics (JSON-safe) and arrays for the display subsample."""

    name: str
    eps: float
    metrics: dict[str, float | None]
    points: np.ndarray  # (S, 2) projection onto the template plane
    templates: np.ndarray  # (3, 2)
    class_distances: np.ndarray  # (3, 3) mean ‖x̃ − w̃_k‖ over the points of class c (row c, column k)
    probs: np.ndarray  # (S, 3) for the display subsample
    reliability: M.Reliability  # on the validation set
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
    extra: dict[str, float | None] = field(default_factory=dict)


class TrainingSession:
    """Step, change ε or the learning rate live, reset, and snapshot a bank of models."""

    def __init__(self, config: RunConfig | None = None, sweep_eps: Sequence[float] | None = None) -> None:
        self.reset(config or RunConfig(), sweep_eps)

    # ---- lifecycle ---------------------------------------------------------------------------
    def reset(self, config: RunConfig, sweep_eps: Sequence[float] | None = None) -> None:
        """Start again from step 0 with `config` (and, for a sweep, one model per ε in `sweep_eps`)."""
        device = resolve_device(config.device)
        data = make_dataset(
            config.dataset,
            points=config.points,
            similarity=config.similarity,
            label_noise=config.label_noise,
            seed=config.seed,
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
        self._good = [p.detach().clone() for p in self.bank.parameters()]
        self._bases: list[np.ndarray | None] = [None] * len(self.eps_values)
        self._snapshots = 0
        self._temperature: float | None = None
        self.display_idx = _display_subsample(data, config.display_points, config.seed)
        self._grid, self.region_extent = _region_grid(data, device)
        self.history: list[dict[str, object]] = []

    def set_eps(self, eps: float) -> None:
        """Change the smoothed run's ε; it takes effect at the next step, without a reset."""
        if self.is_sweep:
            raise ValueError("a sweep's ε values are fixed; start a new sweep to change them")
        if not 0.0 <= eps <= 1.0:
            raise ValueError(f"ε must be between 0 and 1, got {eps}")
        self.eps_values[1] = float(eps)
        self._eps_t = torch.tensor(self.eps_values, device=self.device)

    def set_lr(self, lr: float) -> None:
        """Change the learning rate live; after a divergence, a new rate lets training go on."""
        if not 0.0 < lr <= 10.0:
            raise ValueError(f"the learning rate must be in (0, 10], got {lr}")
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
        if end <= n:
            idx = self._order[self._cursor : end]
            self._cursor = end % n
            return idx
        head = self._order[self._cursor :]
        if not self.config.ordered:
            self._order = self._permutation()
        self._cursor = end - n
        return torch.cat([head, self._order[: self._cursor]])

    def step(self, n: int = 1) -> int:
        """Take up to n optimizer steps for every model; returns how many were taken (0 once diverged)."""
        done = 0
        for _ in range(n):
            if self.diverged:
                break
            idx = self._next_batch()
            x = self.x_train if idx is None else self.x_train[idx]
            y = self.y_train if idx is None else self.y_train[idx]
            losses = train_step(self.bank, self.opt, x, y, self._eps_t)
            if not bool(torch.isfinite(losses).all()):
                self._diverge()
                break
            self.step_count += 1
            done += 1
        return done

    def _diverge(self) -> None:
        """Stop on NaN/inf: restore the last finite weights and a fresh optimizer; keep the message."""
        self.diverged = (
            f"training diverged at step {self.step_count + 1} (learning rate too high?); reset or lower it"
        )
        with torch.no_grad():
            for p, good in zip(self.bank.parameters(), self._good, strict=True):
                p.copy_(good)
        self.opt = make_optimizer(self.bank, self.config.optimizer, self.lr, weight_decay=self.config.weight_decay)

    # ---- snapshots ---------------------------------------------------------------------------
    def snapshot(self, regions: bool = False) -> Snapshot:
        """Everything a frame needs for every run; metrics use all points, arrays a subsample."""
        with torch.no_grad():
            acts, logits_tr = self.bank(self.x_train)  # (M, N, d), (M, N, K)
            _, logits_va = self.bank(self.x_val)  # (M, V, K)
            if not (bool(torch.isfinite(logits_tr).all()) and bool(torch.isfinite(logits_va).all())):
                self._diverge()
                acts, logits_tr = self.bank(self.x_train)
                _, logits_va = self.bank(self.x_val)
            else:
                self._good = [p.detach().clone() for p in self.bank.parameters()]
            w, b = self.bank.templates()  # (M, K, d), (M, K)
            train_loss = bank_smoothed_cross_entropy(logits_tr, self.y_train, self._eps_t)  # (M,)
            val_loss = bank_smoothed_cross_entropy(logits_va, self.y_val, self._eps_t)
            ones = torch.ones_like(acts[..., :1])
            x_aug = torch.cat([acts, ones], dim=-1)  # (M, N, d + 1)
            w_aug = torch.cat([w, b.unsqueeze(-1)], dim=-1)  # (M, K, d + 1)
            dists = torch.cdist(x_aug, w_aug)  # (M, N, K)
            grid_probs = torch.softmax(self.bank(self._grid)[1], dim=-1) if regions and self._grid is not None else None
        cpu = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
        lt, lv, d_all = cpu(logits_tr), cpu(logits_va), cpu(dists)
        acts_s, w_np, b_np = cpu(acts[:, self.display_idx]), cpu(w), cpu(b)
        y_tr, y_va, di = self.data.y_train, self.data.y_val, self.display_idx
        self._snapshots += 1
        runs = []
        for m, (name, eps) in enumerate(zip(self.names, self.eps_values, strict=True)):
            probs_va = M.softmax(lv[m])
            rel = M.reliability(probs_va, y_va)
            proj = project_to_template_plane(acts_s[m], w_np[m], b_np[m], self._bases[m])
            self._bases[m] = proj.basis
            metrics: dict[str, float | None] = {
                "eps": eps,
                "steps": self.step_count,
                "train_loss": float(train_loss[m]),
                "val_loss": float(val_loss[m]),
                "val_nll": M.nll(lv[m], y_va),
                "train_acc": M.accuracy(lt[m], y_tr),
                "val_acc": M.accuracy(probs_va, y_va),
                "ece": rel.ece,
                "mean_confidence": float(probs_va.max(axis=-1).mean()),
                "logit_gap": M.logit_gap(lt[m], y_tr),
                "val_logit_gap": M.logit_gap(lv[m], y_va),
                **distance_summary(d_all[m], y_tr),
                "loss_floor": loss_floor(eps, K),
                "optimal_logit_gap": finite(optimal_logit_gap(eps, K)),
            }
            if self.data.flipped.any():
                metrics["train_acc_clean"] = M.accuracy(lt[m], self.data.y_true)
            if m == 0 and not self.is_sweep:
                self._calibrate(lv[0], y_va, metrics)
            run = RunSnapshot(
                name=name, eps=eps, metrics={k: finite(v) for k, v in metrics.items()},
                points=proj.points.astype(np.float32), templates=proj.templates.astype(np.float32),
                class_distances=_class_distances(d_all[m], y_tr), probs=M.softmax(lt[m][di]).astype(np.float32),
                reliability=rel,
            )
            if grid_probs is not None:
                gp = grid_probs[m]
                run.region_class = gp.argmax(dim=-1).to("cpu", torch.uint8).numpy()
                run.region_conf = gp.max(dim=-1).values.to("cpu", torch.float32).numpy()
            runs.append(run)
        snap = Snapshot(
            step=self.step_count, runs=runs, labels=y_tr[di], true_labels=self.data.y_true[di],
            flipped=self.data.flipped[di], diverged=self.diverged,
        )
        if grid_probs is not None:
            snap.inputs = self.data.x_train[di].astype(np.float32)
            snap.region_extent = self.region_extent
        self._record(snap)
        return snap

    def _calibrate(self, logits_val: np.ndarray, y_val: np.ndarray, out: dict[str, float | None]) -> None:
        """Temperature scaling of the baseline (paper §3): T fitted on validation NLL, refit now and then."""
        if self._temperature is None or self._snapshots % TEMPERATURE_EVERY == 1:
            self._temperature = M.fit_temperature(logits_val, y_val)
        t = self._temperature
        scaled = logits_val / t
        out["temperature"] = t
        out["ece_ts"] = M.expected_calibration_error(M.softmax(scaled), y_val)
        out["val_nll_ts"] = M.nll(scaled, y_val)

    def _record(self, snap: Snapshot) -> None:
        if self.history and self.history[-1]["step"] == snap.step:
            return
        self.history.append({"step": snap.step, **{r.name: r.metrics for r in snap.runs}})
        if len(self.history) > HISTORY_CAP:  # keep the whole run's shape: drop every other old entry
            self.history = self.history[: HISTORY_CAP // 2 : 2] + self.history[HISTORY_CAP // 2 :]

    def run_metrics(self) -> dict[str, dict[str, float | None]]:
        """The latest metrics per run name (takes a snapshot)."""
        return {r.name: r.metrics for r in self.snapshot().runs}


def _class_distances(dists: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(3, 3): row c is the mean distance from class c's points to each template."""
    sums = np.zeros((K, K))
    np.add.at(sums, labels, dists)
    counts = np.bincount(labels, minlength=K)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def _display_subsample(data: Dataset, count: int, seed: int) -> np.ndarray:
    """Up to count/3 training points per (clean) class, fixed per reset: the paper shows 100 per class."""
    rng = np.random.default_rng(seed + 7)
    per_class = max(count // K, 1)
    picks = [rng.permutation(np.flatnonzero(data.y_true == c))[:per_class] for c in range(K)]
    return np.sort(np.concatenate(picks))


def _region_grid(data: Dataset, device: torch.device) -> tuple[torch.Tensor | None, tuple[float, float, float, float] | None]:
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
