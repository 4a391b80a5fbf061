"""Frame ↔ wire bytes: a small versioned JSON header followed by packed little-endian typed arrays.

Layout (docs/protocol.md): uint32 LE header length H | H bytes of UTF-8 JSON | zero padding to a
multiple of 8 | the arrays, each at header["arrays"][i]["offset"] bytes from the start of the data
section (4-byte aligned), dtype "f4" (float32) or "u1" (uint8), C order. Measured against JSON in
bench/frame.py: float32 bytes are several times smaller and orders of magnitude faster to build.
"""

from __future__ import annotations

import json
import struct
import time
from typing import Any

import numpy as np

from ..engine.distill import DistillSnapshot
from ..engine.measure import Reliability
from ..engine.session import SMOOTHED, Snapshot

VERSION = 1
PROBS_SUBSAMPLE = 90  # full probability vectors for the first 90 display points; all get pred + confidence
_DTYPES: dict[str, np.dtype[Any]] = {"f4": np.dtype("<f4"), "u1": np.dtype("u1")}


def snapshot_arrays(snap: Snapshot) -> list[tuple[str, np.ndarray]]:
    """The typed arrays of a snapshot, named as the page reads them."""
    arrays: list[tuple[str, np.ndarray]] = [
        ("labels", snap.labels.astype(np.uint8)),
        ("true_labels", snap.true_labels.astype(np.uint8)),
        ("flipped", snap.flipped.astype(np.uint8)),
    ]
    if snap.inputs is not None:
        arrays.append(("inputs", snap.inputs))
    for i, run in enumerate(snap.runs):
        arrays += [
            (f"{i}.points", run.points),  # (S, 2) f4
            (f"{i}.templates", run.templates),  # (3, 2) f4
            (f"{i}.class_distances", run.class_distances),  # (3, 3) f4
            (f"{i}.pred", run.probs.argmax(axis=-1).astype(np.uint8)),  # (S,) u1
            (f"{i}.confidence", quantize(run.probs.max(axis=-1))),  # (S,) u1: round(255·max p)
            (f"{i}.probs", run.probs[:PROBS_SUBSAMPLE]),  # (≤90, 3) f4
        ]
        if run.region_class is not None and run.region_conf is not None:
            arrays += [(f"{i}.region_class", run.region_class), (f"{i}.region_conf", quantize(run.region_conf))]
    return arrays


def quantize(p: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] → uint8 (resolution 1/255, plenty for colour and opacity)."""
    q: np.ndarray = np.rint(np.clip(p, 0.0, 1.0) * 255.0).astype(np.uint8)
    return q


def snapshot_header(snap: Snapshot, *, playing: bool = False, steps_per_s: float = 0.0,
                    mode: str = "twin") -> dict[str, Any]:
    """The JSON part of a frame: step, ε and metrics of each run, reliability bins, divergence, and the
    session's play state, training rate and mode ("twin" or "sweep")."""
    runs = []
    for run in snap.runs:
        entry = {"name": run.name, "eps": run.eps, "metrics": run.metrics,
                 "reliability": _bins(run.reliability)}
        if run.reliability_ts is not None:
            entry["reliability_ts"] = _bins(run.reliability_ts)
        runs.append(entry)
    header: dict[str, Any] = {"v": VERSION, "type": "frame", "step": snap.step, "diverged": snap.diverged,
                              "runs": runs}
    if snap.region_extent is not None:
        header["extent"] = list(snap.region_extent)
    if getattr(snap, "inspect", None) is not None:  # only while a point is inspected: other frames do not grow
        header["inspect"] = snap.inspect
    header.update(playing=playing, steps_per_s=steps_per_s, mode=mode)
    return header


def _bins(rel: Reliability) -> dict[str, list[float]]:
    return {"count": rel.count.tolist(), "confidence": np.round(rel.confidence, 5).tolist(),
            "accuracy": np.round(rel.accuracy, 5).tolist()}


def encode(header: dict[str, Any], arrays: list[tuple[str, np.ndarray]]) -> bytes:
    """Pack a header dict and named arrays into one binary message."""
    specs, chunks, offset = [], [], 0
    for name, arr in arrays:
        code = "u1" if arr.dtype == np.uint8 else "f4"
        data = np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()
        specs.append({"name": name, "dtype": code, "shape": list(arr.shape), "offset": offset})
        pad = (-len(data)) % 4
        chunks.append(data + b"\0" * pad)
        offset += len(data) + pad
    head = json.dumps({**header, "arrays": specs}, separators=(",", ":"), allow_nan=False).encode()
    lead = 4 + len(head)
    return b"".join([struct.pack("<I", len(head)), head, b"\0" * ((-lead) % 8), *chunks])


def encode_snapshot(snap: Snapshot, *, playing: bool = False, steps_per_s: float = 0.0,
                    mode: str = "twin") -> bytes:
    return encode(snapshot_header(snap, playing=playing, steps_per_s=steps_per_s, mode=mode), snapshot_arrays(snap))


def distill_header(snap: DistillSnapshot, *, playing: bool = False, steps_per_s: float = 0.0) -> dict[str, Any]:
    """A distillation-lab frame's header: the four runs as in a twin's frame (teachers, then students, by name),
    mode "distill", and `distill`: the phase, each phase's steps, T, α, the similar pair and the bar point."""
    header = snapshot_header(snap.frame, playing=playing, steps_per_s=steps_per_s, mode="distill")
    header["distill"] = {"phase": snap.phase, "teacher_step": snap.teacher_step, "student_step": snap.student_step,
                         **snap.settings.as_dict(), "pair": list(snap.pair), "point": snap.point}
    return header


def encode_distill(snap: DistillSnapshot, *, playing: bool = False, steps_per_s: float = 0.0) -> bytes:
    """A distillation-lab snapshot as one binary frame: the twin's format with four runs (docs/protocol.md)."""
    return encode(distill_header(snap, playing=playing, steps_per_s=steps_per_s), snapshot_arrays(snap.frame))


def decode(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Inverse of encode: (header, {name: array}). Raises ValueError on a malformed message."""
    if len(message) < 4:
        raise ValueError("frame too short")
    (h,) = struct.unpack_from("<I", message, 0)
    if 4 + h > len(message):
        raise ValueError("frame header runs past the end of the message")
    header = json.loads(message[4 : 4 + h])
    start = 4 + h + ((-(4 + h)) % 8)
    arrays = {}
    for spec in header.pop("arrays", []):
        dtype = _DTYPES[spec["dtype"]]
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        arr = np.frombuffer(message, dtype=dtype, count=count, offset=start + spec["offset"])
        arrays[spec["name"]] = arr.reshape(spec["shape"])
    return header, arrays


def frame_dict(message: bytes) -> dict[str, Any]:
    """A decoded frame as a dict: step, eps (the twin's smoothed run's; None in a sweep), runs by name with
    their arrays and metrics, the shared arrays, and when it arrived (for the clients' latency figures)."""
    header, arrays = decode(message)
    runs: dict[str, Any] = {}
    for i, run in enumerate(header["runs"]):
        entry = {**run["metrics"], "eps": run["eps"], "reliability": run["reliability"]}
        prefix = f"{i}."
        entry.update({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
        runs[run["name"]] = entry
    shared = {k: v for k, v in arrays.items() if "." not in k}
    smoothed = runs.get(SMOOTHED)
    return {**header, "eps": smoothed["eps"] if smoothed else None, "runs": runs, "arrays": shared,
            "received_at": time.monotonic(), "bytes": len(message)}
