"""Network files for the diagnose tests: the corpus of bad files (tests/cases/diagnose/, cases.json) and a small
synthetic network's arrays, written as .npz or .safetensors bytes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

CASES_DIR = Path(__file__).resolve().parents[1] / "cases" / "diagnose"


def bad_files() -> list[dict[str, Any]]:
    """The corpus: [{file, error (the sentence it must get), max_mb (optional cap)}]."""
    cases: list[dict[str, Any]] = json.loads((CASES_DIR / "cases.json").read_text())
    return cases


def network(k: int = 5, d: int = 7, n: int = 400, v: int = 200, seed: int = 0, scale: float = 1.0,
            names: bool = False) -> dict[str, np.ndarray]:
    """A linear classifier's last layer and penultimate activations on Gaussian blobs around its templates: most
    points right, some wrong, confidences spread over the bins (scale > 1: more confident)."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(k, d)) * scale
    bias = rng.normal(size=k) * 0.3
    y = np.arange(n + v) % k
    x = (weight[y] / scale) * 0.8 + rng.normal(size=(n + v, d))
    arrays = {"features": x[:n].astype(np.float32), "labels": y[:n], "weight": weight.astype(np.float32),
              "bias": bias.astype(np.float32)}
    if v:
        arrays |= {"val_features": x[n:].astype(np.float32), "val_labels": y[n:]}
    if names:
        arrays["class_names"] = np.array([f"kind {c}" for c in range(k)])
    return arrays


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def safetensors_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The numeric arrays as safetensors; class names, if any, in the metadata as a JSON list."""
    from safetensors.numpy import save

    names = arrays.get("class_names")
    tensors = {key: np.ascontiguousarray(value) for key, value in arrays.items() if key != "class_names"}
    return save(tensors, metadata=None if names is None else {"class_names": json.dumps(names.tolist())})
