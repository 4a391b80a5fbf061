"""A recorded frame stream, for testing the page's decoder (static/js/lib/frames.js) against the server's encoder.

`python -m tests.support.frame_stream` writes tests/cases/frame_stream/stream.bin (each frame as uint32 LE length
+ message) and decoded.json (each frame as app/protocol/frames.py's FrameDecoder reads it); tests/js/frames.test.mjs
decodes stream.bin in Node and must get decoded.json; tests/unit/test_frame_stream.py checks both files are what
the encoder writes today. The stream: a small twin with label noise (regions, differences of every size, a
grid change), then a new run (a three-model sweep).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.engine.config import RunConfig
from app.engine.session import TrainingSession
from app.protocol.frames import FrameDecoder, FrameEncoder

HERE = Path(__file__).resolve().parents[1] / "cases" / "frame_stream"
BIN, JSON = HERE / "stream.bin", HERE / "decoded.json"


def messages() -> list[bytes]:
    """The stream's frames, from a fixed script (CPU, one thread: the same bytes every time)."""
    torch.set_num_threads(1)
    encoder, out = FrameEncoder(), []
    twin = TrainingSession(RunConfig(device="cpu", display_points=30, label_noise=0.2, seed=3, points=120))
    for i, steps in enumerate([0, 1, 1, 2, 3, 5, 8, 13, 40, 3, 3, 200, 3, 3, 1, 0, 1]):
        twin.step(steps)
        out.append(encoder.encode(twin.snapshot(regions=i in (0, 12), metrics=i % 3 == 0), playing=True,
                                  steps_per_s=9.5))
    encoder.new_run()
    sweep = TrainingSession(RunConfig(device="cpu", display_points=9, seed=4, points=60), [0.0, 0.1, 0.3])
    for i in range(4):
        sweep.step(5)
        out.append(encoder.encode(sweep.snapshot(metrics=i % 2 == 0), mode="sweep"))
    return out


def plain(value: Any) -> Any:
    """A decoded frame's values as JSON: arrays as lists (float32 as the doubles they are)."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def decoded(stream: list[bytes]) -> list[dict[str, Any]]:
    decoder, out = FrameDecoder(), []
    for message in stream:
        frame = decoder.decode(message)
        out.append(plain({"seq": frame["seq"], "run": frame["run"], "step": frame["step"], "eps": frame["eps"],
                          "measured": frame["measured"], "arrays": frame["arrays"],
                          "runs": {name: {k: run[k] for k in ("points", "templates", "pred", "confidence",
                                                               "class_distances", "train_loss", "region_class",
                                                               "region_conf") if run.get(k) is not None}
                                   for name, run in frame["runs"].items()}}))
    return out


def write() -> None:
    stream = messages()
    HERE.mkdir(parents=True, exist_ok=True)
    BIN.write_bytes(b"".join(struct.pack("<I", len(m)) + m for m in stream))
    JSON.write_text(json.dumps(decoded(stream), separators=(",", ":")))
    print(f"{BIN}: {len(stream)} frames, {BIN.stat().st_size} bytes; {JSON}: {JSON.stat().st_size} bytes")


def read_bin() -> list[bytes]:
    data, out, at = BIN.read_bytes(), [], 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        out.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    return out


if __name__ == "__main__":
    write()
