"""Frames ↔ wire bytes (docs/protocol.md, "Frames"): a small JSON header and packed typed arrays, sent as
what the page does not have yet.

A connection's frames form a stream: `FrameEncoder` (one per session) remembers what it has sent, and
`FrameDecoder` (one per connection, in the page: static/js/lib/frames.js) rebuilds every frame whole.
What does not change within a run (the display points' labels and inputs, the array layout) is sent
once; positions go on a grid of about a thousandth of the data's extent, as differences from the last
frame where they fit; predicted classes only when one changes; metrics only when measured again
(app/protocol/packing.py). The stream is reliable and in order (one WebSocket), so the decoder always
holds the frame a difference refers to.

Layout: uint32 LE header length H | uint32 LE frame number | H bytes of UTF-8 JSON | zero padding to
a multiple of 8 | the arrays back to back, each padded to 4 bytes, in the order of the layout. The
header's "layout" is an id; the first frame that uses a layout also carries it as "arrays":
[[name, dtype, shape], ...]. dtypes: "f4" float32, "i2" int16, "i1" int8, "u1" uint8.
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
from . import packing as P

VERSION = 2
PREFIX = struct.Struct("<II")  # header length, frame number
_DTYPES: dict[str, np.dtype[Any]] = {"f4": np.dtype("<f4"), "i2": np.dtype("<i2"), "i1": np.dtype("i1"),
                                     "u1": np.dtype("u1")}
_CODES = {np.dtype("<f4"): "f4", np.dtype("<i2"): "i2", np.dtype("i1"): "i1", np.dtype("u1"): "u1"}
STATICS = ("labels", "true_labels", "flipped", "inputs")  # sent once per run


# ---- the container ---------------------------------------------------------------------------------
def layout_of(arrays: list[tuple[str, np.ndarray]]) -> list[list[Any]]:
    """The arrays' layout as a header carries it: [[name, dtype, shape], ...] (float64 goes as float32)."""
    return [[name, _CODES.get(arr.dtype, "f4"), list(arr.shape)] for name, arr in arrays]


def encode(header: dict[str, Any], arrays: list[tuple[str, np.ndarray]], seq: int = 0,
           with_layout: bool = True) -> bytes:
    """Pack a header and named arrays (sent in this order) into one binary message; with_layout writes the
    arrays' layout into the header as "arrays" (leave it out only where the header's "layout" id is known)."""
    chunks = []
    layout = layout_of(arrays)
    for (_, arr), (_, code, _) in zip(arrays, layout, strict=True):
        data = np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()
        chunks.append(data + b"\0" * ((-len(data)) % 4))
    if with_layout:
        header = {**header, "arrays": layout}
    head = json.dumps(header, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode()
    lead = PREFIX.size + len(head)
    return b"".join([PREFIX.pack(len(head), seq), head, b"\0" * ((-lead) % 8), *chunks])


def decode(message: bytes, layouts: dict[int, list[Any]] | None = None
           ) -> tuple[int, dict[str, Any], dict[str, np.ndarray]]:
    """Inverse of encode: (frame number, header, {name: array}). `layouts` holds the layouts seen so far on
    this stream (updated here). Raises ValueError on a malformed message or an unknown layout."""
    if len(message) < PREFIX.size:
        raise ValueError("frame too short")
    h, seq = PREFIX.unpack_from(message, 0)
    if PREFIX.size + h > len(message):
        raise ValueError("frame header runs past the end of the message")
    header = json.loads(message[PREFIX.size : PREFIX.size + h])
    specs = header.pop("arrays", None)
    layout = header.get("layout")
    if layouts is not None and layout is not None:
        if specs is not None:
            layouts[layout] = specs
        elif layout not in layouts:
            raise ValueError(f"frame {seq} uses layout {layout}, which this stream has not sent")
        specs = layouts[layout]
    offset = PREFIX.size + h + ((-(PREFIX.size + h)) % 8)
    arrays = {}
    for name, code, shape in specs or []:
        dtype = _DTYPES[code]
        count = int(np.prod(shape)) if shape else 1
        if offset + count * dtype.itemsize > len(message):
            raise ValueError(f"frame {seq}: array {name} runs past the end of the message")
        arrays[name] = np.frombuffer(message, dtype=dtype, count=count, offset=offset).reshape(shape)
        offset += count * dtype.itemsize + (-(count * dtype.itemsize)) % 4
    return seq, header, arrays


def _bins(rel: Reliability) -> dict[str, list[float]]:
    return {"count": rel.count.tolist(), "confidence": np.round(rel.confidence, 5).tolist(),
            "accuracy": np.round(rel.accuracy, 5).tolist()}


# ---- the server's side: one encoder per session --------------------------------------------------------
class FrameEncoder:
    """Turns a session's snapshots into frames of its stream, sending only what the page does not have."""

    def __init__(self) -> None:
        self.seq = 0  # the last frame number given out
        self.run = 0  # this stream's run number: a reset, a sweep or a lab starts the next
        self._layouts: dict[tuple[Any, ...], int] = {}
        self._new_run()

    def _new_run(self) -> None:
        self._statics: set[str] = set()
        self._grid: dict[int, tuple[float, np.ndarray]] = {}  # run index → (grid step, coordinates sent)
        self._pred: dict[int, np.ndarray] = {}
        self._conf: dict[int, np.ndarray] = {}
        self._metrics: dict[int, Any] = {}

    def new_run(self) -> None:
        """The session starts a new run: its next frame carries the run's statics again."""
        self.run += 1
        self._new_run()

    def encode(self, snap: Snapshot, *, playing: bool = False, steps_per_s: float = 0.0, mode: str = "twin",
               extra: dict[str, Any] | None = None) -> bytes:
        """The next frame of the stream for `snap` (a twin's, a sweep's or the lab's four runs)."""
        arrays: list[tuple[str, np.ndarray]] = []
        for name, value in (("labels", snap.labels), ("true_labels", snap.true_labels), ("flipped", snap.flipped),
                            ("inputs", snap.inputs)):
            if value is not None and name not in self._statics:
                self._statics.add(name)
                arrays.append((name, value.astype(np.float32 if name == "inputs" else np.uint8)))
        runs = [self._run(i, run, arrays) for i, run in enumerate(snap.runs)]
        header: dict[str, Any] = {"v": VERSION, "type": "frame", "run": self.run, "step": snap.step,
                                  "diverged": snap.diverged, "playing": playing, "steps_per_s": steps_per_s,
                                  "mode": mode, "runs": runs}
        if snap.region_extent is not None:
            header["extent"] = list(snap.region_extent)
        if snap.inspect is not None:  # only while a point is inspected: other frames do not grow
            header["inspect"] = snap.inspect
        if extra:
            header.update(extra)
        key = tuple((name, arr.dtype.str, arr.shape) for name, arr in arrays)
        new = key not in self._layouts
        if new:
            self._layouts[key] = len(self._layouts) + 1
        header["layout"] = self._layouts[key]
        self.seq += 1
        return encode(header, arrays, self.seq, with_layout=new)

    def _run(self, i: int, run: Any, arrays: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
        """Run i's header entry; its arrays are appended to `arrays`."""
        entry: dict[str, Any] = {"name": run.name, "eps": run.eps}
        xy = np.concatenate([run.points, run.templates])  # (S + 3, 2)
        previous = self._grid.get(i)
        step = P.grid_step(run.extent, previous[0] if previous else None)
        q = P.quantize_positions(xy, step)
        if q is None:  # not finite, or far outside its grid: as float32, and the next frame starts afresh
            self._grid.pop(i, None)
            arrays.append((f"{i}.xyf", xy.astype(np.float32)))
        else:
            arrays.append(P.positions(i, q, previous[1] if previous and previous[0] == step else None))
            self._grid[i] = (step, q)
            entry["scale"] = step
        conf, pred = run.confidence, run.pred
        if i not in self._conf or (conf != self._conf[i]).any():
            self._conf[i] = conf
            arrays.append((f"{i}.conf", conf))
        if i not in self._pred or (pred != self._pred[i]).any():
            self._pred[i] = pred
            arrays.append((f"{i}.pred", P.pack_classes(pred)))
        measured = (run.metrics, run.eps)
        if self._metrics.get(i) != measured:
            self._metrics[i] = measured
            entry["metrics"] = {k: P.significant(v) for k, v in run.metrics.items()}
            entry["reliability"] = _bins(run.reliability)
            if run.reliability_ts is not None:
                entry["reliability_ts"] = _bins(run.reliability_ts)
            arrays.append((f"{i}.class_distances", run.class_distances.astype(np.float32)))
        if run.region_class is not None and run.region_conf is not None:
            arrays.append((f"{i}.regions", P.pack_regions(run.region_class, run.region_conf)))
        return entry

    def encode_distill(self, snap: DistillSnapshot, *, playing: bool = False, steps_per_s: float = 0.0) -> bytes:
        """A distillation-lab frame: the twin's format with four runs, mode "distill", and `distill`: the phase,
        each phase's steps, T, α, the similar pair and the bar point (docs/protocol.md)."""
        extra = {"distill": {"phase": snap.phase, "teacher_step": snap.teacher_step, "student_step": snap.student_step,
                             **snap.settings.as_dict(), "pair": list(snap.pair), "point": snap.point}}
        return self.encode(snap.frame, playing=playing, steps_per_s=steps_per_s, mode="distill", extra=extra)


# ---- the client's side: one decoder per connection -------------------------------------------------------
class FrameDecoder:
    """Rebuilds each frame of one connection's stream whole (Python's twin of static/js/lib/frames.js)."""

    def __init__(self) -> None:
        self.layouts: dict[int, list[Any]] = {}
        self.run: int | None = None
        self.last_seq = 0
        self.statics: dict[str, np.ndarray] = {}  # the run's labels, true_labels, flipped, inputs
        self.kept: dict[int, dict[str, Any]] = {}  # per run index: what later frames do not repeat

    def decode(self, message: bytes) -> dict[str, Any]:
        """A frame as a dict: its header fields, `seq`, `eps` (the twin's smoothed run's; None elsewhere), `runs` by
        name (metrics, eps, reliability, and arrays: points, templates, pred, confidence, class_distances, and
        region_class/region_conf on frames with regions), the shared arrays (labels, true_labels, flipped,
        inputs), `measured` (names of the runs whose metrics this frame measured), `received_at`, `bytes`."""
        seq, header, arrays = decode(message, self.layouts)
        if header.get("v") != VERSION:
            raise ValueError(f"frame version {header.get('v')}, this decoder reads {VERSION}")
        if header["run"] != self.run:
            self.run, self.statics, self.kept = header["run"], {}, {}
        self.statics.update({k: v for k, v in arrays.items() if k in STATICS})
        runs: dict[str, Any] = {}
        measured = []
        for i, entry in enumerate(header["runs"]):
            kept = self.kept.setdefault(i, {})
            if "metrics" in entry:
                measured.append(entry["name"])
                kept.update(metrics=entry["metrics"], reliability=entry["reliability"],
                            reliability_ts=entry.get("reliability_ts"), class_distances=arrays[f"{i}.class_distances"])
            self._positions(i, entry, arrays, kept)
            if f"{i}.conf" in arrays:
                kept["confidence"] = arrays[f"{i}.conf"]
            if f"{i}.pred" in arrays:
                kept["pred"] = P.unpack_classes(arrays[f"{i}.pred"], len(kept["xy"]) - 3)
            run = {**kept.get("metrics", {}), "eps": entry["eps"], "reliability": kept.get("reliability"),
                   "points": kept["xy"][:-3], "templates": kept["xy"][-3:], "pred": kept.get("pred"),
                   "confidence": kept.get("confidence"), "class_distances": kept.get("class_distances"),
                   "scale": entry.get("scale")}
            if kept.get("reliability_ts") is not None:
                run["reliability_ts"] = kept["reliability_ts"]
            if f"{i}.regions" in arrays:
                run["region_class"], run["region_conf"] = P.unpack_regions(arrays[f"{i}.regions"])
            runs[entry["name"]] = run
        self.last_seq = seq
        smoothed = runs.get(SMOOTHED)
        return {**header, "seq": seq, "eps": smoothed["eps"] if smoothed else None, "runs": runs,
                "arrays": dict(self.statics), "measured": measured, "received_at": time.monotonic(),
                "bytes": len(message)}

    @staticmethod
    def _positions(i: int, entry: dict[str, Any], arrays: dict[str, np.ndarray], kept: dict[str, Any]) -> None:
        if f"{i}.xyf" in arrays:
            kept.pop("q", None)
            kept["xy"] = arrays[f"{i}.xyf"].astype(np.float32)
            return
        if f"{i}.xy" in arrays:
            q = arrays[f"{i}.xy"].astype(np.int32)
        elif f"{i}.dxy" in arrays and "q" in kept:
            q = kept["q"] + arrays[f"{i}.dxy"]
        elif f"{i}.d4xy" in arrays and "q" in kept:
            q = kept["q"] + P.unpack_nibbles(arrays[f"{i}.d4xy"], kept["q"].size).reshape(kept["q"].shape)
        else:
            raise ValueError(f"run {i}: positions as differences, but no earlier frame of this run")
        kept["q"] = q
        kept["xy"] = (q * entry["scale"]).astype(np.float32)


def frame_dict(message: bytes) -> dict[str, Any]:
    """The first frame of a stream (or a frame that sends everything), decoded alone."""
    return FrameDecoder().decode(message)
