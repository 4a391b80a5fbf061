"""The recorded frame stream (tests/support/frame_stream.py) that the page's decoder is tested on, in Node
(tests/js/frames.test.mjs): the server's decoder reads stream.bin as decoded.json says, so the two decoders agree."""

from __future__ import annotations

import json

from app.protocol.frames import VERSION, decode
from tests.support.frame_stream import JSON, decoded, read_bin


def test_the_server_decodes_the_recorded_stream_as_recorded() -> None:
    stream = read_bin()
    assert decoded(stream) == json.loads(JSON.read_text())


def test_the_recorded_stream_is_in_this_format_and_covers_every_kind_of_array() -> None:
    layouts: dict[int, list[object]] = {}
    names: set[str] = set()
    runs = set()
    for message in read_bin():
        _, header, arrays = decode(message, layouts)
        assert header["v"] == VERSION
        names |= {name.split(".")[-1] for name in arrays}
        runs.add(header["run"])
    assert {"xy", "dxy", "d4xy", "conf", "pred", "regions", "class_distances", "labels", "inputs"} <= names
    assert len(runs) == 2  # a new run on the same stream
