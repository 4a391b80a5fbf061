"""Records the golden frames: one scripted live session (twin, ε and lr changes, label noise, a paused
step, a sweep, digits), every frame's header and arrays, as a page sees them once decoded. `python -m
tests.golden.record` rewrites frames.npz; test_golden.py replays the same script and compares (issue: the
layered restructure must not change a single frame).

frames.npz was recorded with the first frame format (every array whole, positions as float32, the first 90
points' probabilities); the stream format sends positions on a grid and the probabilities only for an
inspected point, so test_golden.py compares positions to within the grid's half step and leaves PROBS out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.protocol.frames import FrameDecoder
from app.protocol.messages import RunConfig, parse_control
from app.server.live import LiveSession

FIXTURE = Path(__file__).with_name("frames.npz")

# (control or None, frames to take after it): None ticks with training as the session plays.
SCRIPT: list[tuple[dict[str, Any] | None, int]] = [
    ({"type": "play"}, 13),
    ({"type": "set", "eps": 0.3, "lr": 0.02}, 4),
    ({"type": "set", "speed": 7}, 3),
    ({"type": "reset", "config": {"label_noise": 0.2, "similarity": 0.5, "seed": 3}}, 7),
    ({"type": "pause"}, 1),
    ({"type": "step", "n": 5}, 2),
    ({"type": "sweep", "eps": [0.0, 0.1, 0.3], "config": {"points": 300}}, 1),
    ({"type": "play"}, 7),
    ({"type": "reset", "config": {"dataset": "digits", "eps": 0.2}}, 7),
    ({"type": "reset", "config": {"dataset": "blobs", "optimizer": "sgd", "lr": 10.0, "ordered": True}}, 6),
]


def frames() -> Iterator[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """Replays SCRIPT on a fresh LiveSession (CPU, one thread); yields each decoded frame."""
    torch.set_num_threads(1)
    live = LiveSession(RunConfig(device="cpu"))
    decoder = FrameDecoder()
    for control, count in SCRIPT:
        if control is not None:
            live.apply(parse_control(control))
        for _ in range(count):
            message = live.tick(want_frame=True)
            if message is None:
                continue
            yield canonical(decoder.decode(message))


def canonical(frame: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A decoded frame as recorded: the header's fields (runs in bank order with their metrics and bins) and every
    array by its first-format name ("labels", "0.points", ...); the wall clock's fields left out."""
    header = {key: frame[key] for key in ("step", "diverged", "playing", "mode", "extent") if key in frame}
    arrays = {name: arr for name, arr in frame["arrays"].items() if name != "inputs" or "extent" in frame}
    runs = []
    for i, (name, run) in enumerate(frame["runs"].items()):
        metrics = {k: v for k, v in run.items() if not isinstance(v, np.ndarray | dict) and k not in NOT_METRICS}
        entry = {"name": name, "eps": run["eps"], "metrics": metrics, "reliability": run["reliability"]}
        if "reliability_ts" in run:
            entry["reliability_ts"] = run["reliability_ts"]
        runs.append(entry)
        arrays.update({f"{i}.{k}": v for k, v in run.items() if isinstance(v, np.ndarray)})
    header["runs"] = runs
    return header, arrays


NOT_METRICS = ("reliability", "reliability_ts", "scale")  # a decoded run's scalar keys that are not metrics


def record() -> None:
    store: dict[str, np.ndarray] = {}
    headers = []
    for i, (header, arrays) in enumerate(frames()):
        headers.append(header)
        for name, arr in arrays.items():
            store[f"{i}/{name}"] = arr
    store["headers"] = np.frombuffer(json.dumps(headers).encode(), dtype=np.uint8)
    np.savez_compressed(FIXTURE, **store)
    print(f"{FIXTURE}: {len(headers)} frames")


if __name__ == "__main__":
    record()
