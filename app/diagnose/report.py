"""The paper's diagnostics for a trained network: one JSON-ready report from a NetworkDump.

Müller, Kornblith & Hinton 2019, "When does label smoothing help?": Figure 1's template plane through three
classes' templates (§1.1; the projection of app/engine/geometry.py, bias folded in); the logit gap against its
optimum ln(1 + K(1 − ε)/ε) (blog §5, engine/loss.py); the distances to the templates and the wrong-template
spread (blog §4, engine/measure.py); accuracy, NLL, 15-bin ECE, the reliability diagram and temperature scaling
(§3, engine/measure.py); the similar-class share of the distillation lab (§4, engine/kd.py). The math is the
engine's, for any K ≥ 3 classes and any d; this module picks the classes and the points and names the numbers.
docs/diagnose.md lists the keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..engine import measure
from ..engine.geometry import project_bank
from ..engine.kd import similar_share, similar_share_per_point
from ..engine.loss import optimal_logit_gap
from ..engine.measure import Reliability
from .reader import BadSetting, NetworkDump

DEFAULT_POINTS = 100  # per class in the plane, as in the paper's Figure 1
MAX_POINTS = 2_000
TOP_PAIRS = 5  # the most confused pairs listed


def check_settings(eps: float | None, points_per_class: int, seed: int) -> None:
    """The settings of a report, each bad one in a sentence (the CLI's flags and the page's fields alike)."""
    if eps is not None and not (0.0 <= eps <= 1.0):
        raise BadSetting(f"ε must be between 0 and 1, got {eps:g}.")
    if not 1 <= points_per_class <= MAX_POINTS:
        raise BadSetting(f"Points per class must be between 1 and {MAX_POINTS}, got {points_per_class}.")
    if not 0 <= seed < 2**32:
        raise BadSetting(f"The seed must be between 0 and {2**32 - 1}, got {seed}.")


def class_names(dump: NetworkDump) -> list[str]:
    return dump.class_names or [f"class {c}" for c in range(dump.k)]


def parse_classes(spec: str | Sequence[str], names: list[str]) -> list[int]:
    """Three distinct classes, each a name of the file's or an index 0..K−1, e.g. 'cat,dog,fox' or '3,5,8'."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if len(items) != 3:
        raise BadSetting(f"Give three classes, separated by commas (e.g. 3,5,8); got {len(items)}.")
    out = []
    for item in items:
        if item in names:
            out.append(names.index(item))
        elif item.isdigit() and int(item) < len(names):
            out.append(int(item))
        else:
            raise BadSetting(f"{item!r} is not one of the file's classes: an index 0..{len(names) - 1} or a name.")
    if len(set(out)) != 3:
        raise BadSetting("The three classes must be different.")
    return sorted(out)


def most_confused(confusion: torch.Tensor) -> tuple[list[int], list[tuple[int, int, float]]]:
    """The three classes the network confuses most, and the most confused pairs: from the soft confusion (K, K),
    made symmetric, the pair with the most probability between them, then the class that shares most with both."""
    k = confusion.shape[0]
    mass = confusion + confusion.T
    mass.fill_diagonal_(-1.0)
    a, b = divmod(int(mass.argmax()), k)
    third = mass[a] + mass[b]
    third[[a, b]] = -math.inf
    flat = torch.triu(mass, diagonal=1).flatten()
    top = flat.topk(min(TOP_PAIRS, k * (k - 1) // 2))
    pairs = [(i // k, i % k, float(v)) for v, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]
    return sorted([a, b, int(third.argmax())]), pairs


def build_report(dump: NetworkDump, classes: str | Sequence[str] | None = None, eps: float | None = None,
                 points_per_class: int = DEFAULT_POINTS, seed: int = 0) -> dict[str, Any]:
    """The report: every key of docs/diagnose.md. Computed in float64 on the CPU."""
    check_settings(eps, points_per_class, seed)
    names = class_names(dump)
    k = dump.k
    x, y = torch.from_numpy(dump.features), torch.from_numpy(dump.labels)
    w, b = torch.from_numpy(dump.weight), torch.from_numpy(dump.bias)
    z = x @ w.T + b  # (N, K)
    has_val = dump.val_features is not None and dump.val_labels is not None
    if has_val:
        x_val, y_val = torch.from_numpy(dump.val_features), torch.from_numpy(dump.val_labels)
        z_val = x_val @ w.T + b  # (V, K)
    else:
        x_val, y_val, z_val = x[:0], y[:0], z[:0]
    z_eval, y_eval = (z_val, y_val) if has_val else (z, y)
    confusion = measure.soft_confusion(z_eval, y_eval)
    chosen, pairs = most_confused(confusion)
    if classes is not None:
        chosen = parse_classes(classes, names)
    temperature = measure.fit_temperature(z_eval, y_eval)
    calibrated = z_eval / temperature
    rel, rel_t = measure.reliability(z_eval, y_eval), measure.reliability(calibrated, y_eval)
    report: dict[str, Any] = {
        "format": dump.source, "k": k, "d": int(x.shape[1]), "n_train": int(x.shape[0]), "n_val": int(x_val.shape[0]),
        "class_names": names, "classes": chosen, "classes_chosen": "given" if classes is not None else "most confused",
        "evaluated_on": "validation" if has_val else "training", "eps": eps,
        "accuracy": _accuracy(z_eval, y_eval), "train_accuracy": _accuracy(z, y), "nll": measure.nll(z_eval, y_eval),
        "ece": rel.ece, "reliability": _bins(rel), "temperature": temperature,
        "temperature_at_bound": not (measure.T_MIN * 1.001 < temperature < measure.T_MAX / 1.001),
        "nll_after_temperature": measure.nll(calibrated, y_eval), "ece_after_temperature": rel_t.ece,
        "reliability_after_temperature": _bins(rel_t),
        "gap": _gap(z, y, z_val, y_val, k, eps),
        **_distances(x, y, w, b, k),
        "similar_share": _share(z, y, confusion, chosen, k),
        "confused_pairs": [{"pair": [i, j], "mass": v} for i, j, v in pairs],
        "projection": _projection(dump, x, y, z, x_val, y_val, z_val, w, b, chosen, points_per_class, seed),
    }
    finite: dict[str, Any] = _finite(report)
    return finite


def report_json(report: dict[str, Any]) -> str:
    """The report as JSON text: what `diagnose --json` prints and /api/diagnose answers, byte for byte."""
    return json.dumps(report, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _accuracy(z: torch.Tensor, y: torch.Tensor) -> float:
    return float((z.argmax(dim=-1) == y).double().mean())


def _bins(rel: Reliability) -> dict[str, list[float]]:
    return {"edges": rel.edges.tolist(), "count": rel.count.tolist(), "confidence": rel.confidence.tolist(),
            "accuracy": rel.accuracy.tolist()}


def _per_class(values: torch.Tensor, y: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of `values` (R, N) over the entries of each class's points: (K,), (K,)."""
    count = torch.bincount(y, minlength=k).double() * values.shape[0]
    total = torch.zeros(k, dtype=values.dtype).index_add_(0, y, values.sum(dim=0))
    squares = torch.zeros(k, dtype=values.dtype).index_add_(0, y, values.square().sum(dim=0))
    mean = total / count.clamp_min(1)
    std = (squares / count.clamp_min(1) - mean.square()).clamp_min(0).sqrt()
    empty = count == 0
    return mean.masked_fill(empty, math.nan), std.masked_fill(empty, math.nan)


def _gap(z: torch.Tensor, y: torch.Tensor, z_val: torch.Tensor, y_val: torch.Tensor, k: int,
         eps: float | None) -> dict[str, Any]:
    """The logit gap on the training points (correct minus each wrong logit) against the optimum for ε."""
    gaps = measure.logit_gaps(z, y)  # (K − 1, N)
    per_class, per_class_std = _per_class(gaps, y, k)
    val = measure.logit_gaps(z_val, y_val) if z_val.shape[0] else None
    return {"mean": float(gaps.mean()), "std": float(gaps.std(correction=0)), "per_class": per_class.tolist(),
            "per_class_std": per_class_std.tolist(), "val_mean": None if val is None else float(val.mean()),
            "theory": None if eps is None else optimal_logit_gap(eps, k)}


def _distances(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor, k: int) -> dict[str, Any]:
    """Distances to the own and the wrong templates, and the wrong-template spread (0 = equidistant): the spread
    of the squared distances to the wrong templates over the margin (measure.spread_terms), summed over the
    training points, all and per class."""
    dists = measure.template_distances(x, w, b)  # (K, N)
    d_correct = dists.gather(0, y.unsqueeze(0))  # (1, N)
    d_wrong = dists.gather(0, measure.wrong_classes(y, k))  # (K − 1, N)
    spread, margin = measure.spread_terms(d_wrong, d_correct[0])  # (N,), (N,)
    spread_sum = torch.zeros(k, dtype=spread.dtype).index_add_(0, y, spread)
    margin_sum = torch.zeros(k, dtype=margin.dtype).index_add_(0, y, margin)
    per_class = torch.where(margin_sum > 0, spread_sum / margin_sum, math.nan)
    return {
        "distances": {"correct": float(d_correct.mean()), "wrong": float(d_wrong.mean()),
                      "per_class_correct": _per_class(d_correct, y, k)[0].tolist(),
                      "per_class_wrong": _per_class(d_wrong, y, k)[0].tolist()},
        "spread": float(spread.sum() / margin.sum()) if margin.sum() > 0 else None,
        "spread_per_class": per_class.tolist(),
    }


def _share(z: torch.Tensor, y: torch.Tensor, confusion: torch.Tensor, chosen: list[int], k: int) -> dict[str, Any]:
    """The similar-class share at T = 1 on the training points of the chosen classes' most confused pair."""
    mass = confusion + confusion.T
    pair = max(((a, b) for i, a in enumerate(chosen) for b in chosen[i + 1 :]), key=lambda p: float(mass[p]))
    return {"pair": list(pair), "share": float(similar_share(z.unsqueeze(0), y, pair)[0]),
            "share_per_point": float(similar_share_per_point(z.unsqueeze(0), y, pair)[0]), "even": 1.0 / (k - 1)}


def _sample(labels: np.ndarray, chosen: list[int], per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `per_class` rows of each chosen class, drawn without replacement, in class order then row order."""
    picks = []
    for c in chosen:
        rows = np.flatnonzero(labels == c)
        picks.append(np.sort(rng.choice(rows, size=min(per_class, rows.size), replace=False)))
    return np.concatenate(picks).astype(np.int64)


def _projection(dump: NetworkDump, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, x_val: torch.Tensor,
                y_val: torch.Tensor, z_val: torch.Tensor, w: torch.Tensor, b: torch.Tensor, chosen: list[int],
                per_class: int, seed: int) -> dict[str, Any]:
    """Figure 1: sampled points of the three classes and their templates on the plane through the templates.

    An orthonormal basis: the templates' distances are kept, and ‖P(x̃) − P(w̃_k)‖² = ‖x̃ − w̃_k‖² − h² with one h
    per point (its distance from the plane), so every point's logit differences among the three classes can be
    read from the plane and the templates' norms."""
    rng = np.random.default_rng(seed)
    rows = _sample(dump.labels, chosen, per_class, rng)
    val_rows = _sample(dump.val_labels, chosen, per_class, rng) if dump.val_labels is not None else rows[:0]
    sel = torch.tensor(chosen)
    idx, val_idx = torch.from_numpy(rows), torch.from_numpy(val_rows)
    acts = torch.cat([x[idx], x_val[val_idx]]).unsqueeze(0)  # (1, S, d)
    points, templates, _ = project_bank(acts, w[sel].unsqueeze(0), b[sel].unsqueeze(0))  # (1, S, 2), (1, 3, 2)
    n = rows.size
    w_aug = torch.cat([w[sel], b[sel].unsqueeze(-1)], dim=-1)  # (3, d + 1)
    return {
        "classes": chosen, "seed": seed, "points_per_class": per_class,
        "templates": templates[0].tolist(), "template_norms": w_aug.norm(dim=-1).tolist(),
        "train": points[0, :n].tolist(), "train_index": rows.tolist(), "train_labels": y[idx].tolist(),
        "train_pred": z[idx].argmax(dim=-1).tolist(),
        "val": points[0, n:].tolist(), "val_index": val_rows.tolist(), "val_labels": y_val[val_idx].tolist(),
        "val_pred": z_val[val_idx].argmax(dim=-1).tolist(),
    }


def _finite(value: Any) -> Any:
    """The report with every NaN or infinity (a class without points, ε = 0's infinite gap) as None (JSON null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
