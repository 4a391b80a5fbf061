"""Accuracy, NLL, calibration (ECE, reliability bins), logit gap and temperature scaling in numpy: the oracle
for app/engine/measure.py (torch), as the app computed them before it measured in torch (the temperature
is fitted by SciPy's search here, not by the app's own).

ECE as in the paper (Müller, Kornblith & Hinton 2019, "When does label smoothing help?", §3, after Guo et
al. 2017): 15 equal-width bins of the confidence (the max probability); ECE = Σ_b (n_b/N)·|acc_b − conf_b|.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from scipy import optimize

N_BINS = 15
BIN_EDGES = np.linspace(0.0, 1.0, N_BINS + 1)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))  # type: ignore[no-any-return]


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(axis=-1) == labels).mean())


def nll(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels (natural log)."""
    lp = log_softmax(np.asarray(logits, dtype=np.float64))
    return float(-lp[np.arange(labels.size), labels].mean())


# Per bin: number of points, mean confidence, accuracy (NaN-free: empty bins hold 0); and the ECE.
Reliability = namedtuple("Reliability", "edges count confidence accuracy ece")


def reliability(probs: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> Reliability:
    """Equal-width bins on the max probability; a confidence of exactly 1 falls in the last bin."""
    probs = np.asarray(probs, dtype=np.float64)
    conf = probs.max(axis=-1)
    hit = (probs.argmax(axis=-1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds conf in (edges[b], edges[b + 1]], as in Guo et al.; conf = 0 cannot occur
    idx = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    hit_sum = np.bincount(idx, weights=hit, minlength=n_bins)
    safe = np.maximum(count, 1)
    mean_conf, acc = conf_sum / safe, hit_sum / safe
    ece = float(np.abs(hit_sum - conf_sum).sum() / max(conf.size, 1))
    return Reliability(edges=edges, count=count, confidence=mean_conf, accuracy=acc, ece=ece)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> float:
    return reliability(probs, labels, n_bins).ece


def logit_gap(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean over points of the correct logit minus the mean of the wrong logits."""
    z = np.asarray(logits, dtype=np.float64)
    k = z.shape[-1]
    correct = z[np.arange(labels.size), labels]
    wrong_mean = (z.sum(axis=-1) - correct) / (k - 1)
    return float((correct - wrong_mean).mean())


T_MIN, T_MAX = 0.05, 20.0


def fit_temperature(logits: np.ndarray, labels: np.ndarray, lo: float = T_MIN, hi: float = T_MAX) -> float:
    """T in [lo, hi] minimising the NLL of logits / T: SciPy's bounded Brent search on log T (the NLL is
    unimodal in it), not the app's own golden-section search, so that the two are found independently."""
    z = np.asarray(logits, dtype=np.float64)
    best = optimize.minimize_scalar(lambda log_t: nll(z / math.exp(log_t), labels), method="bounded",
                                    bounds=(math.log(lo), math.log(hi)), options={"xatol": 1e-7})
    return math.exp(float(best.x))
