"""Build and encode one frame for 2 runs × 1,500 display points, next to a naive JSON encoding.

    python -m bench.frame [--json] [--repeat N] [--points 1500]

Build = TrainingSession.snapshot() (forward pass on every point, metrics, template-plane projection);
encode = app.protocol.frames.encode_snapshot (JSON header + packed float32/uint8 arrays). The naive encoding
puts the same header and every array as nested lists into one json.dumps. Times are medians over
repeats, measured interleaved in the same run. Target (issue 6): build + encode ≤ 1 ms and ≤ 40 KB,
at least 5× faster and 4× smaller than the naive JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch

from app.engine.session import Snapshot, TrainingSession
from app.protocol.frames import encode_snapshot, snapshot_arrays, snapshot_header
from app.protocol.messages import RunConfig

from .common import emit, load_note, loadavg, median, ratio, rnd


def naive_json(snap: Snapshot, **extra: Any) -> bytes:
    """The straightforward alternative: the header plus every array as (nested) lists, one json.dumps."""
    header = snapshot_header(snap, **extra)
    header["arrays"] = {name: arr.tolist() for name, arr in snapshot_arrays(snap)}
    return json.dumps(header).encode()


def _ms(fn: Any, n: int) -> tuple[float, Any]:
    t0 = time.perf_counter()
    for _ in range(n):
        out = fn()
    return (time.perf_counter() - t0) * 1e3 / n, out


def measure(points: int = 1500, repeat: int = 15, inner: int = 5, regions: bool = False) -> dict[str, Any]:
    torch.set_num_threads(1)
    load_before = loadavg()
    cfg = RunConfig(points=points, display_points=points, device="cpu")
    session = TrainingSession(cfg)
    session.step(300)  # a trained-for-a-while state, as during play
    extra = {"playing": True, "steps_per_s": 90.0, "mode": "twin"}
    for _ in range(5):  # warm-up
        snap = session.snapshot(regions=regions)
        encode_snapshot(snap, **extra)
        naive_json(snap, **extra)
    build, enc, js, enc_arrays, enc_header, light = [], [], [], [], [], []
    frame = b""
    blob = b""
    for _ in range(repeat):
        t, _ = _ms(lambda: session.snapshot(regions=regions, metrics=False), inner)
        light.append(t)  # the frames between measurements: points only, the last metrics reused
        t, snap = _ms(lambda: session.snapshot(regions=regions), inner)
        build.append(t)
        t, frame = _ms(lambda: encode_snapshot(snap, **extra), inner)  # noqa: B023
        enc.append(t)
        t, _ = _ms(lambda: snapshot_header(snap, **extra), inner)  # noqa: B023
        enc_header.append(t)
        t, _ = _ms(lambda: snapshot_arrays(snap), inner)  # noqa: B023
        enc_arrays.append(t)
        t, blob = _ms(lambda: naive_json(snap, **extra), inner)  # noqa: B023
        js.append(t)
    snapshot_ms, encode_ms, json_ms = median(build), median(enc), median(js)
    assert snapshot_ms is not None and encode_ms is not None and json_ms is not None
    display = int(np.asarray(snap.labels).size)
    result: dict[str, Any] = {
        "benchmark": "frame",
        "runs": len(snap.runs),
        "points": points,
        "display_points": display,
        "regions": regions,
        "repeat": repeat,
        "snapshot_ms": rnd(snapshot_ms),
        "snapshot_points_only_ms": rnd(median(light) or 0.0),
        "points_only_encode_ms": rnd((median(light) or 0.0) + encode_ms),
        "encode_ms": rnd(encode_ms, 4),
        "build_encode_ms": rnd(snapshot_ms + encode_ms),
        "encode_header_ms": rnd(median(enc_header), 4),
        "encode_arrays_ms": rnd(median(enc_arrays), 4),
        "bytes": len(frame),
        "json_encode_ms": rnd(json_ms, 4),
        "json_bytes": len(blob),
        "build_json_ms": rnd(snapshot_ms + json_ms),
        "encode_speedup": ratio(json_ms, encode_ms, 1),
        "size_ratio": ratio(len(blob), len(frame), 2),
        "build_encode_speedup": ratio(snapshot_ms + json_ms, snapshot_ms + encode_ms, 2),
        "loadavg_before": load_before,
        "loadavg": loadavg(),
    }
    result["targets"] = {
        "build_encode_le_1ms": snapshot_ms + encode_ms <= 1.0,
        "encode_le_1ms": encode_ms <= 1.0,
        "bytes_le_40KB": len(frame) <= 40_000,
        "encode_ge_5x_faster": json_ms >= 5 * encode_ms,
        "ge_4x_smaller": len(blob) >= 4 * len(frame),
    }
    return result


def summary(r: dict[str, Any]) -> str:
    return "\n".join([
        f"bench.frame: {r['runs']} runs × {r['display_points']} display points, median of {r['repeat']}; "
        f"{load_note(r['loadavg'])}",
        f"build (snapshot)  {r['snapshot_ms']:8.3f} ms   "
        f"(points only, 2 frames in 3: {r['snapshot_points_only_ms']:.3f} ms)",
        f"encode (binary)   {r['encode_ms']:8.3f} ms   {r['bytes']:>8,} bytes",
        f"build + encode    {r['build_encode_ms']:8.3f} ms   (target ≤ 1 ms, ≤ 40 KB)",
        f"naive JSON encode {r['json_encode_ms']:8.3f} ms   {r['json_bytes']:>8,} bytes",
        f"encode {r['encode_speedup']}× faster, {r['size_ratio']}× smaller than JSON "
        f"(build + encode {r['build_encode_speedup']}× faster than build + JSON)",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.frame", description=__doc__.split("\n")[0])
    p.add_argument("--points", type=int, default=1500, help="training and display points (default 1500)")
    p.add_argument("--repeat", type=int, default=15, help="repeats (default 15)")
    p.add_argument("--regions", action="store_true", help="include the decision-region grid (every 3rd frame)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    emit(measure(args.points, max(1, args.repeat), regions=args.regions), args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
