"""Smoothed targets, smoothed cross-entropy and what training converges to.

Blog §1–2 (Eq 2.2) and §5 (Eq 3–5); Müller et al. 2019 §1. The convention is PyTorch's: ε/K is spread over
*all* K classes, the true one included, so q' = (1 − ε)·one-hot + ε/K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

CONVENTION = "q' = (1 − ε)·one-hot + ε/K: ε/K goes to every class, the true one included (PyTorch's convention)"


def smoothed_targets(labels: torch.Tensor, k: int, eps: float | torch.Tensor) -> torch.Tensor:
    """q' for integer labels (...,) → (..., K); eps may be a tensor broadcastable to labels' shape."""
    one_hot = F.one_hot(labels, k).to(torch.get_default_dtype() if not torch.is_tensor(eps) else eps.dtype)
    if torch.is_tensor(eps):
        e = eps.unsqueeze(-1)
        return (1.0 - e) * one_hot + e / k
    return (1.0 - eps) * one_hot + eps / k


def smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, eps: float) -> torch.Tensor:
    """Mean over the batch of (1 − ε)(−log p_y) + (ε/K)Σ_i(−log p_i); logits (B, K), targets (B,)."""
    log_p = torch.log_softmax(logits, dim=-1)  # (B, K)
    nll = -log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B,)
    uniform = -log_p.mean(dim=-1)  # (B,)  = (1/K)Σ_i(−log p_i)
    return ((1.0 - eps) * nll + eps * uniform).mean()


def bank_smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Per-model smoothed loss for a bank: logits (M, B, K), targets (B,), eps (M,) → (M,)."""
    log_p = torch.log_softmax(logits, dim=-1)  # (M, B, K)
    idx = targets.view(1, -1, 1).expand(logits.shape[0], -1, 1)
    nll = -log_p.gather(-1, idx).squeeze(-1).mean(dim=-1)  # (M,)
    uniform = -log_p.mean(dim=(-1, -2))  # (M,)
    return (1.0 - eps) * nll + eps * uniform


def loss_floor(eps: float, k: int) -> float:
    """Lowest reachable smoothed loss: the entropy of q' (0 at ε = 0)."""
    _check(eps, k)
    p_true = 1.0 - eps + eps / k
    p_wrong = eps / k
    h = -p_true * math.log(p_true) if 0 < p_true < 1 else 0.0
    if p_wrong > 0:
        h -= (k - 1) * p_wrong * math.log(p_wrong)
    return h


def optimal_logit_gap(eps: float, k: int) -> float:
    """Correct minus each wrong logit at the optimum: ln(1 + K(1 − ε)/ε); infinite at ε = 0."""
    _check(eps, k)
    if eps == 0:
        return math.inf
    return math.log1p(k * (1.0 - eps) / eps)


def _check(eps: float, k: int) -> None:
    if not (0.0 <= eps <= 1.0) or math.isnan(eps):
        raise ValueError(f"ε must be between 0 and 1, got {eps}")
    if k < 2:
        raise ValueError(f"K (the number of classes) must be at least 2, got {k}")


@dataclass(frozen=True)
class Calculation:
    """What the loss calculator shows for one probability vector."""

    probs: list[float]
    label: int
    eps: float
    targets: list[float]
    onehot_loss: float
    smoothed_loss: float
    gradient: list[float]  # ∂L/∂z_i = p_i − q'_i


def calculate(probs: list[float] | np.ndarray, label: int, eps: float) -> Calculation:
    """The blog's calculator: probability vector, 0-based label, ε → losses and gradient per logit."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size < 2:
        raise ValueError("the probability vector needs at least 2 entries")
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError("every probability must be a positive number (log 0 is infinite)")
    if np.any(p > 1):
        raise ValueError("every probability must be at most 1")
    if abs(p.sum() - 1.0) > 1e-3:
        raise ValueError(f"the probabilities must add up to 1 (they add up to {p.sum():.4g})")
    k = p.size
    if not 0 <= label < k:
        raise ValueError(f"the label must be one of the {k} classes")
    _check(eps, k)
    p = p / p.sum()
    q = np.full(k, eps / k)
    q[label] += 1.0 - eps
    log_p = np.log(p)
    return Calculation(
        probs=p.tolist(),
        label=label,
        eps=eps,
        targets=q.tolist(),
        onehot_loss=float(-log_p[label]),
        smoothed_loss=float(-(q * log_p).sum()),
        gradient=(p - q).tolist(),
    )
