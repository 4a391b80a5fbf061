"""Label smoothing's targets, loss and optimum in numpy, written out from the formulas: the oracle for
app/engine/loss.py (torch). PyTorch's `F.cross_entropy(label_smoothing=ε)` is the other reference.

Müller, Kornblith & Hinton 2019, "When does label smoothing help?", §1; the blog post's Eq 2.2 and §5.
With K classes and label y the smoothed target is q' = (1 − ε)·onehot(y) + ε/K (ε/K to every class, the
true one included), and the loss L = −Σ_k q'_k log p_k with p = softmax(z). Its minimum over z is reached
at p = q', where L is the entropy H(q') (the loss floor) and the correct logit exceeds each wrong one by
ln(p_y / p_wrong) = ln(1 + K(1 − ε)/ε) (the optimal logit gap).
"""

from __future__ import annotations

import math

import numpy as np


def smoothed_targets(labels: np.ndarray, k: int, eps: float | np.ndarray) -> np.ndarray:
    """q' for integer labels (N,) → (N, K); eps a number or one per label."""
    labels = np.asarray(labels)
    e = np.broadcast_to(np.asarray(eps, dtype=np.float64), labels.shape)[:, None]
    onehot = np.eye(k)[labels]
    return (1.0 - e) * onehot + e / k


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    out: np.ndarray = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return out


def smoothed_losses(logits: np.ndarray, labels: np.ndarray, eps: float) -> np.ndarray:
    """−Σ_k q'_k log p_k for each point: logits (N, K), labels (N,) → (N,)."""
    z = np.asarray(logits, dtype=np.float64)
    q = smoothed_targets(labels, z.shape[-1], eps)
    out: np.ndarray = -(q * log_softmax(z)).sum(axis=-1)
    return out


def smoothed_cross_entropy(logits: np.ndarray, labels: np.ndarray, eps: float) -> float:
    """The batch mean of smoothed_losses."""
    return float(smoothed_losses(logits, labels, eps).mean())


def smoothed_gradient(logits: np.ndarray, labels: np.ndarray, eps: float) -> np.ndarray:
    """∂L/∂z_k = p_k − q'_k for each point (N, K)."""
    z = np.asarray(logits, dtype=np.float64)
    out: np.ndarray = np.exp(log_softmax(z)) - smoothed_targets(labels, z.shape[-1], eps)
    return out


def optimum_probs(eps: float, k: int, label: int) -> np.ndarray:
    """Where the smoothed loss is lowest: p = q' (p_y = 1 − ε + ε/K, p_wrong = ε/K)."""
    return smoothed_targets(np.array([label]), k, eps)[0]


def loss_floor(eps: float, k: int) -> float:
    """H(q') = −Σ_k q'_k log q'_k, with 0 · log 0 = 0."""
    q = optimum_probs(eps, k, 0)
    q = q[q > 0]
    return float(-(q * np.log(q)).sum()) + 0.0  # + 0.0: −0.0 at ε = 0 reads as 0


def optimal_logit_gap(eps: float, k: int) -> float:
    """ln(p_y / p_wrong) at the optimum; infinite at ε = 0 (one-hot targets: no finite optimum)."""
    q = optimum_probs(eps, k, 0)
    return math.inf if q[1] == 0 else float(np.log(q[0] / q[1]))
