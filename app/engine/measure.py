"""Batched metrics for a bank of models, returned by name: losses, accuracy, logit gap, template distances,
calibration (ECE and reliability bins) and temperature scaling; and the same per-point measures for one network
of any K classes (`diagnose`: wrong classes, template distances, wrong-template spread, logit gaps, confusion).

ECE as in the paper (Müller, Kornblith & Hinton 2019, §3, after Guo et al. 2017): 15 equal-width bins
of the confidence (the max probability); ECE = Σ_b (n_b/N)·|acc_b − conf_b|. The distances are to the
bias-augmented templates (blog §4): ‖x̃ − w̃_k‖ with x̃ = [x, 1], w̃_k = [w_k, b_k]. The numpy versions
in tests/reference/ are the oracles these are tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .config import K

N_BINS = 15
BIN_EDGES = np.linspace(0.0, 1.0, N_BINS + 1)
T_MIN, T_MAX = 0.05, 20.0


@dataclass(frozen=True)
class Reliability:
    """Per bin: number of points, mean confidence, accuracy (NaN-free: empty bins hold 0)."""

    edges: np.ndarray  # (B + 1,)
    count: np.ndarray  # (B,) int
    confidence: np.ndarray  # (B,)
    accuracy: np.ndarray  # (B,)
    ece: float


@dataclass(frozen=True)
class Labels:
    """Index tensors for measuring M models on N training and V validation points each, built once per run.

    Every tensor has the model axis first, so the labels of many runs concatenated (`cat`) measure
    them all in one pass, each model against its own run's points.
    """

    y_all: torch.Tensor  # (M, N + V) training labels (as trained on), then validation labels
    y_true: torch.Tensor  # (M, N) clean training labels
    wrong_idx: torch.Tensor  # (M, K − 1, N) the wrong classes of each training point
    class_mean: torch.Tensor  # (M, K, N) row c averages over the training points of class c
    n_train: int

    @classmethod
    def build(cls, y_train: torch.Tensor, y_val: torch.Tensor, y_true: torch.Tensor, models: int, k: int = K) -> Labels:
        y_all = torch.cat([y_train, y_val]).unsqueeze(0).expand(models, -1)
        wrong = wrong_classes(y_train, k)  # (K − 1, N)
        one_hot = torch.nn.functional.one_hot(y_train, k).float().T  # (K, N)
        class_mean = one_hot / one_hot.sum(dim=1, keepdim=True).clamp_min(1)
        return cls(
            y_all=y_all, y_true=y_true.unsqueeze(0).expand(models, -1),
            wrong_idx=wrong.unsqueeze(0).expand(models, -1, -1),
            class_mean=class_mean.unsqueeze(0).expand(models, -1, -1), n_train=y_train.numel(),
        )

    @classmethod
    def cat(cls, parts: list[Labels]) -> Labels:
        """The labels of several runs with the same N and V, their models one after another."""
        if len(parts) == 1:
            return parts[0]
        assert len({p.n_train for p in parts}) == 1, "runs measured together need the same number of points"
        fields = ("y_all", "y_true", "wrong_idx", "class_mean")
        joined = {f: torch.cat([getattr(p, f) for p in parts]) for f in fields}
        return cls(**joined, n_train=parts[0].n_train)


@dataclass(frozen=True)
class BankMeasure:
    """What measure_bank returns: each scalar metric by name, (M,) per model, and the per-model arrays."""

    scalars: dict[str, list[float]]  # name → one value per model
    reliability: list[Reliability]  # on the validation set, per model
    class_distances: np.ndarray  # (M, K, K): row c = mean ‖x̃ − w̃_k‖ over the training points of class c


def measure_bank(acts: torch.Tensor, logits: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
                 eps: torch.Tensor, labels: Labels) -> BankMeasure:
    """Every metric for the whole bank in a few batched ops, from one forward pass over train + validation.

    acts (M, N + V, d), logits (M, N + V, K), templates w (M, K, d) and b (M, K), eps (M,). The work is
    done classes first, on logits.mT (M, K, N + V): pass the .mT view of a classes-first tensor
    (ModelBank's forward_rows(classes_first=True)) and it costs no copy.
    """
    n = labels.n_train
    zt = logits.mT  # (M, K, N + V)
    y_idx = labels.y_all.unsqueeze(-2)  # (M, 1, N + V)
    log_p = torch.log_softmax(zt, dim=-2)
    lp_y = log_p.gather(-2, y_idx).squeeze(-2)  # (M, N + V)
    e = eps.unsqueeze(-1)  # (M, 1)
    per_point = -(1.0 - e) * lp_y - e * log_p.mean(dim=-2)  # the smoothed loss, (M, N + V)
    z_y = zt.gather(-2, y_idx).squeeze(-2)
    gap = z_y - (zt.sum(dim=-2) - z_y) / (zt.shape[-2] - 1)  # correct logit minus the mean wrong one, (M, N + V)
    conf, pred = log_p.max(dim=-2)
    conf = conf.exp_()  # max probability, (M, N + V)
    hit = (pred == labels.y_all).float()
    dists = template_distances(acts[:, :n], w, b)  # (M, K, N): ‖x̃ − w̃_k‖
    d_correct = dists.gather(-2, y_idx[..., :n]).squeeze(-2)  # (M, N)
    d_wrong = dists.gather(-2, labels.wrong_idx)  # (M, K − 1, N)
    spread = wrong_spread(d_wrong)  # (M, N)
    conf_v, hit_v = conf[:, n:], hit[:, n:]
    named = {
        "train_loss": per_point[:, :n].mean(-1),
        "val_loss": per_point[:, n:].mean(-1),
        "val_nll": -lp_y[:, n:].mean(-1),
        "train_acc": hit[:, :n].mean(-1),
        "val_acc": hit_v.mean(-1),
        "mean_confidence": conf_v.mean(-1),
        "logit_gap": gap[:, :n].mean(-1),
        "val_logit_gap": gap[:, n:].mean(-1),
        "dist_correct": d_correct.mean(-1),
        "dist_incorrect": d_wrong.mean(dim=(-1, -2)),
        "incorrect_spread": spread.mean(-1),
        "train_acc_clean": (pred[:, :n] == labels.y_true).float().mean(-1),
    }
    rows = torch.stack(list(named.values())).tolist()  # one transfer for every scalar: (names, M)
    scalars = dict(zip(named, rows, strict=True))
    rel = bank_reliability(conf_v, hit_v)
    scalars["ece"] = [r.ece for r in rel]
    class_dist = (labels.class_mean @ dists.mT).to("cpu").numpy()  # (M, K, K)
    return BankMeasure(scalars=scalars, reliability=rel, class_distances=class_dist)


def wrong_classes(labels: torch.Tensor, k: int) -> torch.Tensor:
    """The K − 1 wrong classes of each label (label + 1, label + 2, … mod K): (N,) → (K − 1, N)."""
    return (labels.unsqueeze(0) + torch.arange(1, k, device=labels.device).unsqueeze(-1)) % k


def template_distances(acts: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖x̃ − w̃_k‖ with x̃ = [x, 1], w̃_k = [w_k, b_k] (blog §4): acts (..., N, d), w (..., K, d), b (..., K)
    → (..., K, N)."""
    w_aug = torch.cat([w, b.unsqueeze(-1)], dim=-1)  # (..., K, d + 1)
    x_aug = torch.cat([acts, torch.ones_like(acts[..., :1])], dim=-1)  # (..., N, d + 1)
    return torch.cdist(w_aug, x_aug)


def wrong_spread(d_wrong: torch.Tensor) -> torch.Tensor:
    """Each point's wrong-template spread, 0 when its wrong templates are equidistant: the distances to them
    (..., K − 1, N) → (max − min) / mean, (..., N). With K = 3 that is |d_a − d_b| / mean(d_a, d_b)."""
    return (d_wrong.amax(dim=-2) - d_wrong.amin(dim=-2)) / d_wrong.mean(dim=-2).clamp_min(1e-12)


def spread_terms(d_wrong: torch.Tensor, d_own: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per point, in squared distances: how unequal its wrong templates are, max − min of ‖x̃ − w̃_j‖² over the
    wrong j, and its margin, their mean minus ‖x̃ − w̃_y‖²; (..., K − 1, N), (..., N) → (..., N), (..., N).

    Their ratio (of sums over points) is a wrong-template spread free of ‖x̃‖²: differences of squared distances
    do not depend on it, and the template plane keeps them (SCIENCE §4), so it measures what Figure 1 shows. The
    ratio of plain distances (wrong_spread) shrinks as activations grow: from far away all templates look
    equidistant, and a one-hot network's activations are far out."""
    sq = d_wrong.square()
    return sq.amax(dim=-2) - sq.amin(dim=-2), sq.mean(dim=-2) - d_own.square()


def logit_gaps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Correct minus each wrong logit, ln(1 + K(1 − ε)/ε) for all at the optimum (blog §5): logits (N, K),
    labels (N,) → (K − 1, N)."""
    zt = logits.mT  # (K, N)
    return zt.gather(0, labels.unsqueeze(0)) - zt.gather(0, wrong_classes(labels, zt.shape[0]))


def soft_confusion(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Row c: the mean softmax over the points labelled c (a class without points: zeros). (N, K) → (K, K)."""
    k = logits.shape[-1]
    probs = torch.softmax(logits, dim=-1)
    total = torch.zeros(k, k, dtype=probs.dtype, device=probs.device).index_add_(0, labels, probs)
    return total / torch.bincount(labels, minlength=k).clamp_min(1).unsqueeze(-1).to(probs.dtype)


def bank_reliability(conf: torch.Tensor, hit: torch.Tensor) -> list[Reliability]:
    """Reliability bins and ECE for M models at once: confidence and correctness (M, V) → M bin tables.

    Bin b holds confidences in (edges[b], edges[b + 1]], as in Guo et al.; a confidence of 1 falls in the last.
    """
    m, v = conf.shape
    offset = (torch.arange(m, device=conf.device) * N_BINS).unsqueeze(-1)  # (M, 1)
    bins = ((torch.ceil(conf * N_BINS).long() - 1).clamp_(0, N_BINS - 1) + offset).flatten()
    size = m * N_BINS
    counts = torch.bincount(bins, minlength=size).view(m, -1)
    conf_sum = torch.bincount(bins, conf.flatten(), minlength=size).view(m, -1)
    hit_sum = torch.bincount(bins, hit.flatten(), minlength=size).view(m, -1)
    ece = ((hit_sum - conf_sum).abs().sum(dim=-1) / max(v, 1)).tolist()
    counts_np, conf_np, hit_np = (t.to("cpu").numpy() for t in (counts, conf_sum, hit_sum))
    out = []
    for i in range(m):
        safe = np.maximum(counts_np[i], 1)
        out.append(Reliability(edges=BIN_EDGES, count=counts_np[i], confidence=conf_np[i] / safe,
                               accuracy=hit_np[i] / safe, ece=ece[i]))
    return out


def nll(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean negative log-likelihood of the labels (natural log); logits (N, K)."""
    return float(nll_rows(logits.unsqueeze(0), labels.unsqueeze(0))[0])


def nll_rows(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean NLL per row: logits (S, N, K), labels (S, N) → (S,). Classes first inside, as measure_bank."""
    lp = torch.log_softmax(logits.mT, dim=-2)
    return -lp.gather(-2, labels.unsqueeze(-2)).squeeze(-2).mean(dim=-1)


def reliability(logits: torch.Tensor, labels: torch.Tensor) -> Reliability:
    """Reliability bins and ECE of one model's logits (N, K)."""
    return reliability_rows(logits.unsqueeze(0), labels.unsqueeze(0))[0]


def reliability_rows(logits: torch.Tensor, labels: torch.Tensor) -> list[Reliability]:
    """Reliability bins and ECE per row: logits (S, N, K), labels (S, N). Classes first inside."""
    conf, pred = torch.softmax(logits.mT, dim=-2).max(dim=-2)
    return bank_reliability(conf, (pred == labels).to(conf.dtype))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, lo: float = T_MIN, hi: float = T_MAX) -> float:
    """T > 0 minimising the NLL of logits / T; logits (N, K)."""
    return float(fit_temperature_rows(logits.unsqueeze(0), labels.unsqueeze(0), lo, hi)[0])


def fit_temperature_rows(logits: torch.Tensor, labels: torch.Tensor, lo: float = T_MIN, hi: float = T_MAX
                         ) -> torch.Tensor:
    """Per row, T > 0 minimising the NLL of logits / T: logits (S, N, K), labels (S, N) → T (S,), float64.

    Golden-section search on log T (the NLL is unimodal in it), every row's bracket at once.
    """
    z = logits.to(torch.float64)
    rows = z.shape[0]
    a = torch.full((rows,), math.log(lo), dtype=torch.float64, device=z.device)
    b = torch.full_like(a, math.log(hi))
    ratio = (math.sqrt(5) - 1) / 2

    def cost(log_t: torch.Tensor) -> torch.Tensor:
        return nll_rows(z / log_t.exp().view(-1, 1, 1), labels)

    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = cost(c), cost(d)
    for _ in range(28):  # the bracket shrinks to 0.618^28 of its width: |Δ log T| < 1e-5
        left = fc < fd  # the minimum lies in [a, d]: d becomes the new b, c the new d
        b = torch.where(left, d, b)
        a = torch.where(left, a, c)
        d_new = torch.where(left, c, a + ratio * (b - a))
        c_new = torch.where(left, b - ratio * (b - a), d)
        probe = torch.where(left, c_new, d_new)  # the one new point per row
        f_probe = cost(probe)
        fd, fc = torch.where(left, fc, f_probe), torch.where(left, f_probe, fd)
        c, d = c_new, d_new
    return ((a + b) / 2).exp()
