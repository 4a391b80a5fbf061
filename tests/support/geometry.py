"""Random cases and small helpers shared by the geometry tests (tests/unit: the live code and its numpy oracle)."""

from __future__ import annotations

import numpy as np

REFLECT = np.array([[1.0, 0.0], [0.0, -1.0]])


def random_case(seed: int, n: int = 40, d: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Penultimate activations (N, d, ReLU-like), templates (3, d) and biases (3,)."""
    rng = np.random.default_rng(seed)
    acts = np.abs(rng.normal(size=(n, d))) * 2
    weight = rng.normal(size=(3, d))
    bias = rng.normal(size=3)
    return acts, weight, bias


def augmented(acts: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x̃ = [x, 1], w̃_k = [w_k, b_k], written out here as the reference."""
    return np.hstack([acts, np.ones((len(acts), 1))]), np.hstack([weight, bias[:, None]])


def pairwise(x: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of x."""
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def rotation(theta: float) -> np.ndarray:
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
