"""Reading a stranger's network file (issue 23): every bad file in tests/cases/diagnose/ gets its one sentence, from
the reader, the CLI (one line, exit 2) alike; nothing is unpickled; sizes are checked before data is read."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.__main__ import main
from app.diagnose.reader import DiagnoseError, TooLarge, read_dump
from app.diagnose.report import build_report, report_json
from tests.support.diagnose import CASES_DIR, bad_files, network, npz_bytes, safetensors_bytes

CASES = bad_files()


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_every_bad_file_gets_its_sentence(case: dict[str, Any]) -> None:
    with pytest.raises(DiagnoseError) as caught:
        read_dump((CASES_DIR / case["file"]).read_bytes(), case.get("max_mb", 200))
    assert str(caught.value) == case["error"]


def test_the_corpus_covers_what_the_issue_lists() -> None:
    errors = " ".join(c["error"] for c in CASES)
    for words in ("has no `", "it has `feats`", "but `features` has", "at least 3", "must lie in 0..",
                  "must be integers", "NaN or infinite", "object array", "neither an .npz nor a .safetensors",
                  "over the 0.001 MB cap", "declare 300 MB unpacked"):
        assert words in errors, words
    assert len(CASES) >= 30 and all((CASES_DIR / c["file"]).stat().st_size < 20_000 for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_the_cli_says_it_in_one_line_and_exits_2(case: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diagnose", str(CASES_DIR / case["file"]), "--max-mb", str(case.get("max_mb", 200))])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.splitlines() == [f"python -m app: error: {case['error']}"]


def test_nothing_is_unpickled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file of the corpus, with pickle and torch.load made to fail loudly: the same sentences."""
    import torch

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("something tried to unpickle")

    for target in (pickle, torch):
        for name in ("load", "loads"):
            if hasattr(target, name):
                monkeypatch.setattr(target, name, refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    for case in CASES:
        with pytest.raises(DiagnoseError, match="^" + _literal(case["error"]) + "$"):
            read_dump((CASES_DIR / case["file"]).read_bytes(), case.get("max_mb", 200))


def _literal(text: str) -> str:
    import re

    return re.escape(text)


def test_declared_sizes_are_checked_before_any_member_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real compressed bomb: 3 MB of zeros in a few KB, refused under a 1 MB cap without opening a member."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **(network() | {"features": np.zeros((100_000, 7), np.float32)}))
    data = buf.getvalue()
    assert len(data) < 20_000

    def opened(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was opened before its declared size was checked")

    monkeypatch.setattr(zipfile.ZipFile, "open", opened)
    with pytest.raises(TooLarge, match=r"^The arrays in the file declare 2\.8\d? MB unpacked, over the 1 MB cap\.$"):
        read_dump(data, max_mb=1)


def test_a_file_over_the_cap_is_refused_by_its_length() -> None:
    data = npz_bytes(network())
    with pytest.raises(TooLarge, match="over the"):
        read_dump(data, max_mb=len(data) / 2e6)
    assert read_dump(data, max_mb=len(data) / 1e6).k == 5


@pytest.mark.parametrize("cap", [0, -1, float("nan"), float("inf")])
def test_a_bad_cap_is_a_sentence(cap: float) -> None:
    with pytest.raises(DiagnoseError, match="^The size cap must be a positive number of MB"):
        read_dump(b"x", max_mb=cap)


def test_both_formats_give_the_same_arrays() -> None:
    arrays = network(names=True)
    a, b = read_dump(npz_bytes(arrays)), read_dump(safetensors_bytes(arrays))
    assert (a.source, b.source) == ("npz", "safetensors")
    for key in ("features", "labels", "weight", "bias", "val_features", "val_labels"):
        left, right = getattr(a, key), getattr(b, key)
        np.testing.assert_array_equal(left, right)
        np.testing.assert_array_equal(left, arrays[key].astype(left.dtype))
    assert a.class_names == b.class_names == [f"kind {c}" for c in range(5)]
    assert a.features.dtype == np.float64 and a.labels.dtype == np.int64


def test_extra_arrays_are_ignored_and_optional_ones_may_be_left_out(tmp_path: Path) -> None:
    arrays = network(v=0) | {"logits": np.zeros((400, 5)), "notes": np.array(["anything"])}
    dump = read_dump(npz_bytes(arrays))
    assert dump.val_features is None and dump.val_labels is None and dump.class_names is None
    big_endian = network() | {"features": network()["features"].astype(">f4"), "labels": np.arange(400) % 5}
    np.testing.assert_array_equal(read_dump(npz_bytes(big_endian)).features, network()["features"])


def test_class_names_are_shown_printable_and_short() -> None:
    names = np.array(["cat\x00dog", "x" * 500, "fox"])
    dump = read_dump(npz_bytes(network(k=3) | {"class_names": names}))
    assert dump.class_names is not None
    assert dump.class_names[0] == "cat dog" and len(dump.class_names[1]) == 80 and dump.class_names[2] == "fox"


VALID = {"npz": npz_bytes(network(k=4, n=40, v=12, names=True)),
         "safetensors": safetensors_bytes(network(k=4, n=40, v=12, names=True))}
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(kind=st.sampled_from(sorted(VALID)), edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                                            max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_damaged_file_is_a_sentence_never_a_crash(kind: str, edits: list[tuple[int, int]], cut: int | None) -> None:
    """Bytes changed or cut anywhere in a valid file: one sentence, or (if it still reads) a report; nothing else."""
    data = bytearray(VALID[kind])
    for at, value in edits:
        data[at % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _sentence_or_report(bytes(data))


@FUZZ
@given(head=st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY", b"\x10\x00\x00\x00\x00\x00\x00\x00{"]),
       tail=st.binary(max_size=300))
def test_random_bytes_are_a_sentence(head: bytes, tail: bytes) -> None:
    _sentence_or_report(head + tail)


def _sentence_or_report(data: bytes) -> None:
    try:
        dump = read_dump(data)
    except DiagnoseError as err:
        sentence = str(err)
        assert sentence[:1].isupper() or sentence.startswith("`"), sentence
        assert sentence.endswith(".") and "\n" not in sentence and "Traceback" not in sentence, sentence
        return
    report = build_report(dump)
    assert report_json(report)


def test_a_signalling_nan_in_a_file_is_a_sentence() -> None:
    """Found by the fuzz test: a byte that turns a float32 into a signalling NaN (casting it raised a warning)."""
    data = bytearray(VALID["safetensors"])
    data[46019 % len(data)] = 127
    _sentence_or_report(bytes(data))
