"""Frames: what one costs to build and encode, and how many bytes the default run sends a second.

    python -m bench.frame [--json] [--repeat N] [--points 1500] [--seconds 60]

One frame, 2 runs × 1,500 display points: build = TrainingSession.snapshot() (forward pass on every point,
metrics, template-plane projection); encode = FrameEncoder.encode (app/protocol/frames.py), a frame in the
middle of a stream (positions as differences); the first frame of a run (everything) is reported too. The
naive encoding puts the same header and every array as nested lists into one json.dumps. Times are medians
over repeats, measured interleaved in the same run. Targets (issue 6): build + encode ≤ 1 ms and ≤ 40 KB, at
least 5× faster and 4× smaller than the naive JSON.

The stream (issue 19): the default run played as the server plays it (LiveSession.tick: 3 steps a frame,
every metric on every 3rd frame, decision regions on every 6th) for `--seconds` at 30 frames a second;
the mean frame's bytes, by part, against the first format's (every array whole in every frame, float32
positions, the first 90 points' probabilities, metrics in every header). Target: mean ≤ 4 KB over 60 s.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from typing import Any

import numpy as np
import torch

from app.engine.session import Snapshot, TrainingSession
from app.protocol.frames import FrameDecoder, FrameEncoder, decode, encode
from app.protocol.messages import RunConfig, parse_control
from app.server.live import LiveSession

from .common import emit, load_note, loadavg, median, ratio, rnd

FPS = 30


def first_format(snap: Snapshot, measured: bool = True) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """A snapshot as the first frame format sent it: metrics and bins of every run in every header, every array
    whole (float32 positions, labels, the first 90 points' probabilities, regions as two byte arrays)."""
    runs, arrays = [], [("labels", snap.labels.astype(np.uint8)), ("true_labels", snap.true_labels.astype(np.uint8)),
                        ("flipped", snap.flipped.astype(np.uint8))]
    if snap.inputs is not None:
        arrays.append(("inputs", snap.inputs.astype(np.float32)))
    for i, run in enumerate(snap.runs):
        bins = {"count": run.reliability.count.tolist(), "confidence": run.reliability.confidence.tolist(),
                "accuracy": run.reliability.accuracy.tolist()}
        runs.append({"name": run.name, "eps": run.eps, "metrics": run.metrics, "reliability": bins})
        arrays += [(f"{i}.points", run.points), (f"{i}.templates", run.templates),
                   (f"{i}.class_distances", run.class_distances),
                   (f"{i}.pred", run.probs.argmax(axis=-1).astype(np.uint8)),
                   (f"{i}.confidence", np.rint(run.probs.max(axis=-1) * 255).astype(np.uint8)),
                   (f"{i}.probs", run.probs[:90].astype(np.float32))]
        if run.region_class is not None and run.region_conf is not None:
            arrays += [(f"{i}.region_class", run.region_class.astype(np.uint8)),
                       (f"{i}.region_conf", np.rint(run.region_conf * 255).astype(np.uint8))]
    return {"v": 1, "type": "frame", "step": snap.step, "diverged": snap.diverged, "runs": runs}, arrays


def naive_json(snap: Snapshot) -> bytes:
    """The straightforward alternative: the header plus every array as (nested) lists, one json.dumps."""
    header, arrays = first_format(snap)
    header["arrays"] = {name: arr.tolist() for name, arr in arrays}
    return json.dumps(header).encode()


def _ms(fn: Any, n: int) -> tuple[float, Any]:
    t0 = time.perf_counter()
    for _ in range(n):
        out = fn()
    return (time.perf_counter() - t0) * 1e3 / n, out


def one_frame(points: int, repeat: int, inner: int = 5) -> dict[str, Any]:
    session = TrainingSession(RunConfig(points=points, display_points=points, device="cpu"))
    session.step(300)  # a trained-for-a-while state, as during play
    encoder = FrameEncoder()
    first = encoder.encode(session.snapshot())  # the run's first frame: everything
    for _ in range(5):  # warm-up
        snap = session.snapshot()
        encoder.encode(snap)
        naive_json(snap)
    build, enc, js, light = [], [], [], []
    frame = blob = b""
    for _ in range(repeat):
        t, _ = _ms(lambda: session.snapshot(metrics=False), inner)
        light.append(t)  # the frames between measurements: points only, the last metrics reused
        session.step(1)
        t, snap = _ms(lambda: session.snapshot(), inner)
        build.append(t)
        t, frame = _ms(lambda: encoder.encode(snap), inner)  # noqa: B023
        enc.append(t)
        t, blob = _ms(lambda: naive_json(snap), inner)  # noqa: B023
        js.append(t)
    snapshot_ms, encode_ms, json_ms = median(build), median(enc), median(js)
    assert snapshot_ms is not None and encode_ms is not None and json_ms is not None
    return {
        "runs": len(snap.runs), "points": points, "display_points": int(np.asarray(snap.labels).size),
        "repeat": repeat, "snapshot_ms": rnd(snapshot_ms), "snapshot_points_only_ms": rnd(median(light) or 0.0),
        "points_only_encode_ms": rnd((median(light) or 0.0) + encode_ms), "encode_ms": rnd(encode_ms, 4),
        "build_encode_ms": rnd(snapshot_ms + encode_ms), "bytes": len(frame), "first_frame_bytes": len(first),
        "json_encode_ms": rnd(json_ms, 4), "json_bytes": len(blob), "build_json_ms": rnd(snapshot_ms + json_ms),
        "encode_speedup": ratio(json_ms, encode_ms, 1), "size_ratio": ratio(len(blob), len(frame), 2),
        "build_encode_speedup": ratio(snapshot_ms + json_ms, snapshot_ms + encode_ms, 2),
    }


def stream(seconds: float) -> dict[str, Any]:
    """The default run's frames for `seconds` at FPS frames a second, as the server builds them."""
    live = LiveSession(RunConfig(device="cpu"))
    live.apply(parse_control({"type": "play"}))
    decoder, layouts = FrameDecoder(), {}
    sizes, old_sizes, parts = [], [], collections.Counter()
    for _ in range(int(seconds * FPS)):
        message = live.tick(want_frame=True)
        assert message is not None
        sizes.append(len(message))
        decoder.decode(message)
        _, header, arrays = decode(message, layouts)
        parts["header"] += len(json.dumps(header, separators=(",", ":")))
        for name, arr in arrays.items():
            parts[name.split(".")[-1]] += arr.nbytes
        snap = live.session.snapshot(metrics=False)  # the same step, as the first format would have sent it
        old_sizes.append(len(encode(*first_format(snap))))
    n = len(sizes)
    return {"stream_seconds": seconds, "stream_frames": n, "stream_bytes_mean": rnd(float(np.mean(sizes)), 0),
            "stream_bytes_p95": rnd(float(np.percentile(sizes, 95)), 0), "stream_bytes_max": max(sizes),
            "stream_first_format_bytes_mean": rnd(float(np.mean(old_sizes)), 0),
            "stream_size_ratio": ratio(float(np.mean(old_sizes)), float(np.mean(sizes)), 2),
            "stream_bytes_per_part": {k: rnd(v / n, 0) for k, v in parts.most_common()},
            "stream_kbit_per_s_at_30fps": rnd(float(np.mean(sizes)) * 8 * FPS / 1e3, 0)}


def measure(points: int = 1500, repeat: int = 15, seconds: float = 60.0) -> dict[str, Any]:
    torch.set_num_threads(1)
    load_before = loadavg()
    result: dict[str, Any] = {"benchmark": "frame", **one_frame(points, repeat), **stream(seconds),
                              "loadavg_before": load_before, "loadavg": loadavg()}
    result["targets"] = {
        "build_encode_le_1ms": result["build_encode_ms"] <= 1.0,
        "bytes_le_40KB": result["bytes"] <= 40_000,
        "encode_ge_5x_faster": result["json_encode_ms"] >= 5 * result["encode_ms"],
        "ge_4x_smaller": result["json_bytes"] >= 4 * result["bytes"],
        "stream_mean_le_4KB": result["stream_bytes_mean"] <= 4096,
    }
    return result


def summary(r: dict[str, Any]) -> str:
    return "\n".join([
        f"bench.frame: {r['runs']} runs × {r['display_points']} display points, median of {r['repeat']}; "
        f"{load_note(r['loadavg'])}",
        f"build (snapshot)  {r['snapshot_ms']:8.3f} ms   "
        f"(points only, 2 frames in 3: {r['snapshot_points_only_ms']:.3f} ms)",
        f"encode (stream)   {r['encode_ms']:8.3f} ms   {r['bytes']:>8,} bytes (a run's first frame "
        f"{r['first_frame_bytes']:,})",
        f"build + encode    {r['build_encode_ms']:8.3f} ms   (target ≤ 1 ms, ≤ 40 KB)",
        f"naive JSON encode {r['json_encode_ms']:8.3f} ms   {r['json_bytes']:>8,} bytes",
        f"the default run, {r['stream_frames']} frames ({r['stream_seconds']:g} s at {FPS} fps): mean "
        f"{r['stream_bytes_mean']:,} bytes (p95 {r['stream_bytes_p95']:,}, max {r['stream_bytes_max']:,}; target "
        f"≤ 4,096), first format {r['stream_first_format_bytes_mean']:,} ({r['stream_size_ratio']}× more); "
        f"{r['stream_kbit_per_s_at_30fps']} kbit/s at {FPS} fps",
        "by part: " + ", ".join(f"{k} {v:,}" for k, v in r["stream_bytes_per_part"].items()),
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.frame", description=__doc__.split("\n")[0])
    p.add_argument("--points", type=int, default=1500, help="training and display points (default 1500)")
    p.add_argument("--repeat", type=int, default=15, help="repeats (default 15)")
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of the default run's stream (default 60)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    emit(measure(args.points, max(1, args.repeat), args.seconds), args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
