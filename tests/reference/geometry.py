"""The paper's template-plane projection in numpy, step by step: the oracle for app/engine/geometry.py.

Müller, Kornblith & Hinton 2019, "When does label smoothing help?", §1.1 and Figure 1; the blog post's §4.
The logit z_k = w̃_k·x̃ with x̃ = [x, 1] and w̃_k = [w_k, b_k], so a larger logit means x̃ is closer to
template w̃_k. The plane passes through the three bias-augmented templates, centred on their mean, with an
orthonormal basis from QR; each frame's basis is aligned to the previous one (2×2 orthogonal Procrustes).
Everything is computed in float64, whatever comes in (numpy arrays or torch tensors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Projection:
    points: np.ndarray  # (N, 2)
    templates: np.ndarray  # (3, 2)
    basis: np.ndarray  # (d + 1, 2) orthonormal columns
    centre: np.ndarray  # (d + 1,)


def _np(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().to("cpu", torch.float64).numpy()
    return np.asarray(a, dtype=np.float64)


def augment(acts: Any, weight: Any, bias: Any) -> tuple[np.ndarray, np.ndarray]:
    """x̃ = [x, 1] (N, d + 1) and w̃ = [w, b] (3, d + 1)."""
    x, w, b = _np(acts), _np(weight), _np(bias)
    if x.ndim != 2 or w.ndim != 2 or b.ndim != 1 or w.shape[1] != x.shape[1] or b.shape[0] != w.shape[0]:
        raise ValueError(f"shapes do not fit: acts {x.shape}, weight {w.shape}, bias {b.shape}")
    return np.hstack([x, np.ones((x.shape[0], 1))]), np.hstack([w, b[:, None]])


def template_basis(w_aug: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (mean of the templates) and orthonormal basis of span(w̃2 − w̃1, w̃3 − w̃1)."""
    centre = w_aug.mean(axis=0)
    q, _ = np.linalg.qr(np.stack([w_aug[1] - w_aug[0], w_aug[2] - w_aug[0]], axis=1))  # (d + 1, 2)
    return centre, q


def align_basis(basis: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Rotate/reflect `basis` within its plane to best match `previous` (orthogonal Procrustes)."""
    if previous is None or previous.shape != basis.shape:
        return basis
    u, _, vt = np.linalg.svd(basis.T @ previous)  # (2, 2)
    aligned: np.ndarray = basis @ (u @ vt)
    return aligned


def project_to_template_plane(
    acts: Any, weight: Any, bias: Any, previous_basis: np.ndarray | None = None
) -> Projection:
    """Project penultimate activations (N, d) with templates weight (3, d), bias (3,) onto the plane."""
    x_aug, w_aug = augment(acts, weight, bias)
    centre, q = template_basis(w_aug)
    q = align_basis(q, previous_basis)
    return Projection(points=(x_aug - centre) @ q, templates=(w_aug - centre) @ q, basis=q, centre=centre)


def template_distances(acts: Any, weight: Any, bias: Any) -> np.ndarray:
    """‖x̃_n − w̃_k‖ for every activation and template: (N, 3)."""
    x_aug, w_aug = augment(acts, weight, bias)
    dists: np.ndarray = np.sqrt(((x_aug[:, None, :] - w_aug[None, :, :]) ** 2).sum(axis=-1))
    return dists


def distance_summary(dists: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> dict[str, float]:
    """Mean distance to the correct template, to the wrong ones, and the wrong-template spread.

    Spread = mean over points of |d_a − d_b| / mean(d_a, d_b) over the two wrong templates (K = 3):
    0 means every point is equidistant from its wrong templates, as label smoothing drives it.
    """
    d, y = _np(dists), _np(labels).astype(np.int64)
    n = d.shape[0]
    correct = d[np.arange(n), y]
    wrong = d[np.arange(n)[:, None], (y[:, None] + np.array([1, 2])) % 3]  # (N, 2)
    spread = np.abs(wrong[:, 0] - wrong[:, 1]) / np.maximum(wrong.mean(axis=1), 1e-12)
    return {
        "dist_correct": float(correct.mean()),
        "dist_incorrect": float(wrong.mean()),
        "incorrect_spread": float(spread.mean()),
    }
