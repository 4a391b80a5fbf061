"""app/protocol/frames.py: the binary frame format of docs/protocol.md, round trip, and its size."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest

from app.engine.session import Snapshot, TrainingSession
from app.protocol.client import frame_dict
from app.protocol.frames import VERSION, decode, encode, encode_snapshot, snapshot_arrays
from app.protocol.messages import RunConfig


def strict_json(raw: bytes) -> Any:
    """JSON that refuses NaN and ±Infinity (browsers' JSON.parse refuses them too)."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in a frame header")

    return json.loads(raw, parse_constant=refuse)


def raw_header(message: bytes) -> Any:
    (h,) = struct.unpack_from("<I", message, 0)
    return strict_json(message[4 : 4 + h])


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    s = TrainingSession(RunConfig(device="cpu", label_noise=0.2, eps=0.25))
    s.step(40)
    return s.snapshot(regions=True)


def test_snapshot_round_trip_is_exact_for_every_array(snap: Snapshot) -> None:
    message = encode_snapshot(snap, playing=True, steps_per_s=12.5, mode="twin")
    header, arrays = decode(message)
    sent = snapshot_arrays(snap)
    assert [name for name, _ in sent] == list(arrays)
    assert {"labels", "true_labels", "flipped", "inputs", "0.points", "1.templates", "1.region_conf"} <= set(arrays)
    for name, original in sent:
        got = arrays[name]
        assert got.shape == original.shape, name
        assert got.dtype in (np.dtype("<f4"), np.dtype("u1")), name
        np.testing.assert_array_equal(got, original.astype(got.dtype), err_msg=name)
    np.testing.assert_array_equal(arrays["0.points"], snap.runs[0].points)  # float32 survives bit for bit
    np.testing.assert_array_equal(arrays["1.pred"], snap.runs[1].probs.argmax(axis=1))
    np.testing.assert_array_equal(arrays["1.confidence"], np.rint(snap.runs[1].probs.max(axis=1) * 255))
    assert header["v"] == VERSION and header["type"] == "frame" and header["step"] == 40
    assert header["playing"] is True and header["steps_per_s"] == 12.5 and header["mode"] == "twin"
    assert [r["name"] for r in header["runs"]] == ["baseline", "smoothed"]
    assert [r["eps"] for r in header["runs"]] == [0.0, 0.25]
    assert header["runs"][1]["metrics"] == snap.runs[1].metrics
    assert sum(header["runs"][0]["reliability"]["count"]) == snap.runs[0].reliability.count.sum()
    assert len(header["extent"]) == 4


def test_header_is_strict_json(snap: Snapshot) -> None:
    header = raw_header(encode_snapshot(snap))
    assert header["runs"][0]["metrics"]["optimal_logit_gap"] is None  # ε = 0: infinite, sent as null


def test_a_nan_never_reaches_the_wire() -> None:
    """NaN metrics are sent as null by the session; a NaN slipped into a header is refused, not sent."""
    with pytest.raises(ValueError):
        encode({"step": 1, "metric": float("nan")}, [])
    s = TrainingSession(RunConfig(device="cpu", optimizer="sgd", lr=10.0, weight_decay=1.0))
    s.step(200)
    assert s.diverged
    header = raw_header(encode_snapshot(s.snapshot(regions=True)))
    assert header["diverged"] == s.diverged


@pytest.mark.parametrize("sizes", [[1], [3, 5], [2, 7, 1, 4], [0, 9]])
def test_encode_decode_alignment_and_padding(sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes))
    arrays: list[tuple[str, np.ndarray]] = []
    for i, n in enumerate(sizes):
        arrays.append((f"u{i}", rng.integers(0, 256, n).astype(np.uint8)))
        arrays.append((f"f{i}", rng.normal(size=(n, 3)).astype(np.float32)))
    message = encode({"step": 7, "name": "ε"}, arrays)
    (h,) = struct.unpack_from("<I", message, 0)
    start = 4 + h + (-(4 + h)) % 8
    assert start % 8 == 0 and all(b == 0 for b in message[4 + h : start])  # zero padding to 8
    header = raw_header(message)
    assert header["name"] == "ε"
    for spec in header["arrays"]:
        assert spec["offset"] % 4 == 0  # every array 4-byte aligned (Float32Array views in the page)
    got_header, got = decode(message)
    assert got_header == {"step": 7, "name": "ε"}
    for name, arr in arrays:
        np.testing.assert_array_equal(got[name], arr)
        assert got[name].dtype == arr.dtype


def test_float64_arrays_are_sent_as_float32() -> None:
    x = np.array([[0.1, 1e-3], [2.5, -7.0]])
    _, got = decode(encode({}, [("x", x)]))
    assert got["x"].dtype == np.dtype("<f4")
    np.testing.assert_array_equal(got["x"], x.astype(np.float32))


def test_decode_rejects_malformed_messages() -> None:
    with pytest.raises(ValueError, match="too short"):
        decode(b"\x01")
    with pytest.raises(ValueError, match="past the end"):
        decode(struct.pack("<I", 1000) + b"{}")


def test_frame_for_two_runs_of_1500_points_fits_in_40_kb() -> None:
    s = TrainingSession(RunConfig(device="cpu", points=3000, display_points=1500))
    s.step(5)
    snap = s.snapshot()
    assert snap.runs[0].points.shape == (1500, 2) and len(snap.runs) == 2
    message = encode_snapshot(snap, playing=True, steps_per_s=90.0, mode="twin")
    assert len(message) <= 40 * 1024, f"{len(message)} bytes"


def test_client_frame_dict(snap: Snapshot) -> None:
    frame = frame_dict(encode_snapshot(snap, mode="twin"))
    assert frame["step"] == 40 and frame["eps"] == 0.25  # the smoothed run's ε
    smoothed = frame["runs"]["smoothed"]
    assert smoothed["eps"] == 0.25 and smoothed["points"].shape == (300, 2)
    assert smoothed["templates"].shape == (3, 2)
    assert smoothed["train_loss"] == snap.runs[1].metrics["train_loss"]
    np.testing.assert_array_equal(frame["arrays"]["flipped"], snap.flipped.astype(np.uint8))
