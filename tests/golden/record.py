"""Records the golden frames: one scripted live session (twin, ε and lr changes, label noise, a paused
step, a sweep, digits), every frame's header and arrays. `python -m tests.golden.record` rewrites
frames.npz; test_golden.py replays the same script and compares (issue: the layered restructure must
not change a single frame).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.protocol.frames import decode
from app.protocol.messages import RunConfig, parse_control
from app.server.live import LiveSession

FIXTURE = Path(__file__).with_name("frames.npz")
# Header keys that depend on the wall clock, not on the seed and the controls.
CLOCK_KEYS = ("steps_per_s",)

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
    for control, count in SCRIPT:
        if control is not None:
            live.apply(parse_control(control))
        for _ in range(count):
            message = live.tick(want_frame=True)
            if message is None:
                continue
            header, arrays = decode(message)
            for key in CLOCK_KEYS:
                header.pop(key, None)
            yield header, arrays


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
