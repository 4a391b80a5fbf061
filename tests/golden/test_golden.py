"""The frames of one scripted session equal the recorded ones (the golden frames).

frames.npz was written by record.py (re-recorded when the compute loop came: the temperature-scaled
metrics are now fitted at each measured step, and the batched layout rounds a little differently); every
header value and every array must match to 1e-6. A change that is meant to alter frames re-records
it (`python -m tests.golden.record`) and says why in its commit.

The recording holds the first frame format's arrays; the stream format (docs/protocol.md) changes what is
sent, not the numbers: positions match to within half the grid step the frame says, decision regions'
confidence to within its 6 bits, and the first 90 points' probabilities (PROBS) are no longer sent.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from .record import FIXTURE, frames

TOL = 1e-6
PROBS = "probs"  # first format only: the inspected point's probabilities are in the header now
GRID = ("points", "templates")  # on a grid of half a step at most
FORMAT_KEYS = ("v", "type")  # the format's own header fields


def _recorded() -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    with np.load(FIXTURE) as store:
        headers = json.loads(bytes(store["headers"]))
        out = []
        for i, header in enumerate(headers):
            arrays = {k.split("/", 1)[1]: store[k] for k in store.files if k.startswith(f"{i}/")}
            out.append((header, arrays))
    return out


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, int | float):
        assert b == pytest.approx(a, rel=TOL, abs=TOL), f"{where}: {b} != {a}"
    else:
        assert a == b, f"{where}: {b!r} != {a!r}"


def test_frames_equal_the_recorded_ones() -> None:
    recorded = _recorded()
    replayed = list(frames())
    assert len(replayed) == len(recorded) > 40
    for i, ((head_a, arr_a), (head_b, arr_b)) in enumerate(zip(recorded, replayed, strict=True)):
        _same({k: v for k, v in head_a.items() if k not in FORMAT_KEYS}, head_b, f"frame {i}")
        expected = {name for name in arr_a if name.split(".")[-1] != PROBS}
        assert expected == set(arr_b), f"frame {i}: arrays {sorted(expected)} != {sorted(arr_b)}"
        for name in expected:
            a, b, kind = arr_a[name], arr_b[name], name.split(".")[-1]
            assert a.dtype == b.dtype and a.shape == b.shape, f"frame {i} {name}: {b.dtype}{b.shape}"
            if kind in GRID:
                xy = np.concatenate([arr_a[name.replace(kind, k)] for k in GRID])
                half_step = float(np.max(np.ptp(xy, axis=0))) / 512 / 2  # a grid step is extent / 512 at most
                np.testing.assert_allclose(b, a, rtol=0, atol=half_step * 1.001, err_msg=f"frame {i} {name}")
            elif kind == "region_conf":
                assert np.abs(b.astype(int) - a.astype(int)).max() <= 3, f"frame {i} {name}"
            else:
                np.testing.assert_allclose(b, a, rtol=TOL, atol=TOL, err_msg=f"frame {i} {name}")


def test_the_script_covers_what_the_restructure_touches() -> None:
    headers = [h for h, _ in _recorded()]
    assert {h["mode"] for h in headers} == {"twin", "sweep"}
    assert any("extent" in h for h in headers)  # decision regions
    assert any(h["diverged"] for h in headers)
    assert any(not h["playing"] for h in headers)
    assert any("train_acc_clean" in h["runs"][0]["metrics"] for h in headers)  # label noise
    assert any("ece_ts" in h["runs"][0]["metrics"] for h in headers)  # temperature scaling
