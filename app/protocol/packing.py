"""How a frame's numbers are made small (docs/protocol.md, "Frame encoding"): pure numpy, both directions.

- Positions on a template plane: a run's display points and its three templates on a grid of step
  2^k, chosen so the data's extent spans 1,024 to 2,048 steps (a panel of 500 pixels shows at least
  that extent, so half a step is under half a pixel), kept while the extent spans 512 to 4,096 steps.
  Sent as int16 grid coordinates, or as int8 differences from the previous frame of the same run
  when the grid is unchanged and every difference fits.
  Differences within ±7 go two to a byte (int4, low nibble first).
- Predicted classes: 2 bits a point, four to a byte.
- Decision regions: one byte a cell, the class in the top 2 bits and the max probability (1/3 to 1)
  in the low 6.
- Metrics: 7 significant digits (float32 precision; every metric is computed in float32 or coarser).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

GRID_STEPS = 1024  # the extent spans this many grid steps when a grid is chosen (…twice that)
KEEP_LO, KEEP_HI = 512, 4096  # a grid is kept while the extent spans this many steps (no flapping)
CONF_LEVELS = 63  # region confidence: 6 bits over [1/K, 1]


def extent(xy: np.ndarray) -> float:
    """The larger side of the box around the positions (N, 2); 0 for a single point."""
    return float((xy.max(axis=0) - xy.min(axis=0)).max()) if xy.size else 0.0


def grid_step(span: float, previous: float | None) -> float:
    """The grid step for positions whose extent is `span`: the previous one while it fits, else a new 2^k."""
    if not math.isfinite(span) or span <= 0:
        return previous or 1.0
    if previous is not None and KEEP_LO <= span / previous < KEEP_HI:
        return previous
    return float(2.0 ** math.floor(math.log2(span / GRID_STEPS)))


def quantize_positions(xy: np.ndarray, step: float) -> np.ndarray | None:
    """(N, 2) float positions → int32 grid coordinates; None when a value is not finite or too far out. (Dividing
    by a power of two is exact in float32 too.)"""
    q = np.rint(xy / np.float32(step) if xy.dtype == np.float32 else np.asarray(xy, dtype=np.float64) / step)
    if q.size and not np.abs(q).max() <= 32_767:  # NaN fails this test too
        return None
    out: np.ndarray = q.astype(np.int32)
    return out


def positions(i: int, q: np.ndarray, previous: np.ndarray | None) -> tuple[str, np.ndarray]:
    """Run i's coordinates as the frame sends them: int4 differences from the previous ones when all are within
    ±7, int8 within ±127, else int16 coordinates ({i}.d4xy, {i}.dxy, {i}.xy: docs/protocol.md)."""
    if previous is not None and previous.shape == q.shape:
        d = q - previous
        far = int(np.abs(d).max()) if d.size else 0
        if far <= 7:
            flat = (d.reshape(-1) & 15).astype(np.uint8)
            if flat.size % 2:
                flat = np.append(flat, np.uint8(0))
            return f"{i}.d4xy", (flat[0::2] | flat[1::2] << 4).astype(np.uint8)
        if far <= 127:
            return f"{i}.dxy", d.astype(np.int8)
    return f"{i}.xy", q.astype("<i2")


def position_deltas(q: np.ndarray, previous: np.ndarray | None) -> np.ndarray | None:
    """int8 differences from the previous coordinates, or None when there are none or one does not fit."""
    if previous is None or previous.shape != q.shape:
        return None
    d = q - previous
    if d.size and np.abs(d).max() > 127:
        return None
    out: np.ndarray = d.astype(np.int8)
    return out


def pack_nibbles(d: np.ndarray) -> np.ndarray | None:
    """int differences (N, 2) within ±7 → bytes, two values a byte, low nibble first; None if one is beyond."""
    flat = np.asarray(d, dtype=np.int16).reshape(-1)
    if flat.size and np.abs(flat).max() > 7:
        return None
    padded = np.zeros(flat.size + flat.size % 2, dtype=np.uint8)
    padded[: flat.size] = flat & 15
    out: np.ndarray = (padded[0::2] | padded[1::2] << 4).astype(np.uint8)
    return out


def unpack_nibbles(packed: np.ndarray, count: int) -> np.ndarray:
    """Inverse of pack_nibbles: `count` int32 values."""
    b = np.asarray(packed, dtype=np.int32)
    both = np.stack([b & 15, b >> 4], axis=1).reshape(-1)[:count]
    out: np.ndarray = (both ^ 8) - 8
    return out


def pack_classes(classes: np.ndarray) -> np.ndarray:
    """Classes 0–3 (S,) → ceil(S/4) bytes, point 4j + i in bits 2i, 2i+1 of byte j."""
    c = np.asarray(classes, dtype=np.uint8)
    padded = np.zeros(-(-c.size // 4) * 4, dtype=np.uint8)
    padded[: c.size] = c & 3
    quads = padded.reshape(-1, 4)
    packed: np.ndarray = (quads[:, 0] | quads[:, 1] << 2 | quads[:, 2] << 4 | quads[:, 3] << 6).astype(np.uint8)
    return packed


def unpack_classes(packed: np.ndarray, count: int) -> np.ndarray:
    """Inverse of pack_classes for `count` points."""
    b = np.asarray(packed, dtype=np.uint8)
    out: np.ndarray = np.stack([b & 3, b >> 2 & 3, b >> 4 & 3, b >> 6 & 3], axis=1).reshape(-1)[:count]
    return out.astype(np.uint8)


def pack_regions(region_class: np.ndarray, region_conf: np.ndarray, classes: int = 3) -> np.ndarray:
    """Each cell's class (top 2 bits) and max probability in [1/K, 1] on 64 levels (low 6 bits)."""
    lo = 1.0 / classes
    level = np.rint((np.clip(region_conf, lo, 1.0) - lo) / (1.0 - lo) * CONF_LEVELS)
    out: np.ndarray = (np.asarray(region_class, dtype=np.uint8) << 6 | level.astype(np.uint8)).astype(np.uint8)
    return out


def unpack_regions(packed: np.ndarray, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(class, round(255 · max probability)) per cell, as uint8 arrays: what the page paints."""
    b = np.asarray(packed, dtype=np.uint8)
    lo = 1.0 / classes
    conf = lo + (b & CONF_LEVELS) / CONF_LEVELS * (1.0 - lo)
    return (b >> 6).astype(np.uint8), np.rint(conf * 255.0).astype(np.uint8)


def significant(value: Any, digits: int = 7) -> Any:
    """A float to `digits` significant digits (None, ints and bools as they are): short JSON, float32 precision."""
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return float(f"{value:.{digits}g}")
    return value
