"""Write the corpus of bad network files for `diagnose` and cases.json, the sentence each must get.

    .venv/bin/python tests/cases/diagnose/make.py

Every file is small (a few KB at most). The sentences are written here by hand, from what the user must be told,
not copied from the reader's output; tests/unit/test_diagnose_reader.py (the reader and the CLI),
tests/api/test_diagnose_api.py (the API) and tests/e2e/test_diagnose_page.py (the page) hold the code to them.
A case may set `max_mb`, the cap it is read with (the default cap is 200 MB).
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
N, D, K = 30, 4, 3
NAMES = "`features`, `labels`, `weight`"


def good(**changes: Any) -> dict[str, Any]:
    """A valid dump's arrays (N = 30 points, d = 4, K = 3), with `changes` (None removes an array)."""
    rng = np.random.default_rng(0)
    arrays: dict[str, Any] = {"features": rng.normal(size=(N, D)).astype(np.float32),
                              "labels": np.arange(N) % K, "weight": rng.normal(size=(K, D)).astype(np.float32),
                              "bias": np.zeros(K, np.float32)}
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def npz(**changes: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **good(**changes))
    return buf.getvalue()


def safetensors(header: dict[str, Any], data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def good_safetensors(metadata: dict[str, str] | None = None, **changes: Any) -> bytes:
    from safetensors.numpy import save

    return save({k: np.ascontiguousarray(v) for k, v in good(**changes).items()}, metadata=metadata)


def declared_bomb() -> bytes:
    """A small zip whose central directory says features.npy holds 300 MB (no zip64, so the size is in the entry)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in good().items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arr))
            z.writestr(f"{name}.npy", member.getvalue())
    data = bytearray(buf.getvalue())
    at = data.index(b"PK\x01\x02")  # the first central directory entry: features.npy
    struct.pack_into("<I", data, at + 24, 300_000_000)  # its uncompressed size
    return bytes(data)


def header_lies() -> bytes:
    """features.npy's header says (1000000, 4) float64; the member holds 30 rows."""
    arrays = good()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in arrays.items():
            member = io.BytesIO()
            if name == "features":
                np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                              "shape": (1_000_000, D)})
                member.write(np.zeros((N, D)).tobytes())
            else:
                np.lib.format.write_array(member, np.asarray(arr))
            z.writestr(f"{name}.npy", member.getvalue())
    return buf.getvalue()


def encrypted() -> bytes:
    """A valid .npz with the "encrypted" flag set on its members (zipfile cannot write real encryption)."""
    data = bytearray(npz())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local headers, central directory
        at = data.find(signature)
        while at >= 0:
            data[at + flags_at] |= 0x1
            at = data.find(signature, at + 4)
    return bytes(data)


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "features and labels")
    return buf.getvalue()


def torch_checkpoint() -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(3, 4)}, buf)
    return buf.getvalue()


def bf16() -> bytes:
    header = {"features": {"dtype": "BF16", "shape": [N, D], "data_offsets": [0, N * D * 2]}}
    return safetensors(header, bytes(N * D * 2))


CASES: list[tuple[str, Any, str, dict[str, Any]]] = [
    ("empty.npz", lambda: b"", "The file is empty.", {}),
    ("notes.txt", lambda: b"features,labels\n1,2\n", "The file is neither an .npz nor a .safetensors file.", {}),
    ("gzipped.npz.gz", lambda: gzip.compress(npz(), mtime=0),
     "The file is neither an .npz nor a .safetensors file.", {}),
    ("single.npy", lambda: _npy(np.zeros((3, 4))),
     "This is a single .npy array: save the arrays together in one file with np.savez (docs/diagnose.md).", {}),
    ("pickled.pkl", lambda: pickle.dumps({"features": [1.0, 2.0]}, protocol=4),
     "This is a pickle (an old torch.save file?), which is never loaded here: save the arrays with np.savez or "
     "safetensors (docs/diagnose.md).", {}),
    ("checkpoint.pt", torch_checkpoint,
     "This is a PyTorch checkpoint (torch.save), a pickle, which is never loaded here: save the arrays with np.savez "
     "or safetensors (docs/diagnose.md).", {}),
    ("truncated.npz", lambda: npz()[:600], "The .npz file is damaged: it is not a readable zip archive.", {}),
    ("encrypted.npz", encrypted, "The .npz file is encrypted: save it without a password (np.savez).", {}),
    ("no-arrays.zip", plain_zip, "The zip file holds no NumPy arrays: make the .npz with np.savez (docs/diagnose.md).",
     {}),
    ("declares-300mb.npz", declared_bomb, "The arrays in the file declare 300 MB unpacked, over the 200 MB cap.", {}),
    ("header-lies.npz", header_lies,
     "The .npz file is damaged: `features` declares more data than the file holds.", {}),
    ("over-cap.npz", npz, "The file is {size}, over the 0.001 MB cap.", {"max_mb": 0.001}),
    ("object-array.npz", lambda: npz(class_names=np.array(["cat", 3, None], dtype=object)),
     "`class_names` is an object array, which could hold pickled code and is never loaded: save numbers, and class "
     "names as a string array (np.array(names)).", {}),
    ("no-bias.npz", lambda: npz(bias=None),
     f"The file has no `bias` array (it has {NAMES}); docs/diagnose.md lists the names.", {}),
    ("misnamed.npz", lambda: npz(features=None, feats=good()["features"]),
     "The file has no `features` array; it has `feats`: name it `features` (docs/diagnose.md).", {}),
    ("features-text.npz", lambda: npz(features=np.array([["a"] * D] * N)),
     "`features` must hold numbers, not <U1.", {}),
    ("features-1d.npz", lambda: npz(features=np.zeros(N)),
     "`features` is (30,); it must be (N, d): flatten it, e.g. x.flatten(1).", {}),
    ("features-4d.npz", lambda: npz(features=np.zeros((N, 1, 2, 2))),
     "`features` is (30, 1, 2, 2); it must be (N, d): flatten it, e.g. x.flatten(1).", {}),
    ("weight-columns.npz", lambda: npz(weight=np.zeros((K, D + 1))),
     "`weight` is (3, 5) but `features` has d = 4 columns: the weight must be (K, 4).", {}),
    ("weight-transposed.npz", lambda: npz(weight=np.zeros((D, K + 2)), bias=np.zeros(K + 2)),
     "`weight` is (4, 5) but `features` has d = 4 columns: the weight must be (K, 4) (it looks transposed: save it as "
     "(K, d)).", {}),
    ("bias-length.npz", lambda: npz(bias=np.zeros(K + 1)), "`bias` has 4 entries but `weight` has K = 3 rows.", {}),
    ("two-classes.npz", lambda: npz(weight=np.zeros((2, D)), bias=np.zeros(2), labels=np.arange(N) % 2),
     "The last layer has K = 2 classes; the template plane needs at least 3.", {}),
    ("labels-float.npz", lambda: npz(labels=(np.arange(N) % K).astype(np.float32)),
     "`labels` must be integers (class indices), not float32: e.g. y.long().", {}),
    ("labels-short.npz", lambda: npz(labels=np.arange(N - 1) % K),
     "`labels` is (29,) but `features` has 30 rows: one label per row.", {}),
    ("labels-too-big.npz", lambda: npz(labels=np.arange(N) % (K + 1)),
     "`labels` must lie in 0..2 (the last layer's K = 3 classes); it holds 3.", {}),
    ("labels-negative.npz", lambda: npz(labels=np.arange(N) % K - 1),
     "`labels` must lie in 0..2 (the last layer's K = 3 classes); it holds -1.", {}),
    ("nan-features.npz", lambda: npz(features=np.array([[np.nan, 0, 0, 0], [0, np.inf, 0, 0]] + [[0.0] * D] * (N - 2))),
     "`features` holds 2 NaN or infinite values.", {}),
    ("inf-weight.npz", lambda: npz(weight=np.array([[np.inf, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])),
     "`weight` holds 1 NaN or infinite value.", {}),
    ("val-without-labels.npz", lambda: npz(val_features=np.zeros((5, D))),
     "The file has `val_features` but no `val_labels`: give both or neither.", {}),
    ("val-columns.npz", lambda: npz(val_features=np.zeros((5, D + 1)), val_labels=np.zeros(5, int)),
     "`val_features` has 5 columns but `features` has 4.", {}),
    ("class-names-count.npz", lambda: npz(class_names=np.array(["cat", "dog"])),
     "`class_names` has 2 names but the last layer has K = 3 classes.", {}),
    ("class-names-numbers.npz", lambda: npz(class_names=np.arange(K)),
     "`class_names` must be a list of strings, e.g. np.array(['cat', 'dog', 'fox']).", {}),
    ("header-not-json.safetensors", lambda: struct.pack("<Q", 5) + b"{nope" + bytes(8),
     "The .safetensors file is damaged: its header is not JSON.", {}),
    ("header-too-long.safetensors", lambda: struct.pack("<Q", 10_000) + b'{"a": 1}',
     "The .safetensors file is damaged: its header runs past the end of the file.", {}),
    ("truncated.safetensors", lambda: good_safetensors()[:-40],
     "The .safetensors file is damaged: `weight` runs past the end of the file.", {}),
    ("bf16.safetensors", bf16, "`features` is stored as BF16, which NumPy cannot read: save it as float32 "
     "(tensor.float()).", {}),
    ("no-weight.safetensors", lambda: good_safetensors(weight=None),
     "The file has no `weight` array (it has `bias`, `features`, `labels`); docs/diagnose.md lists the names.", {}),
    ("class-names-metadata.safetensors", lambda: good_safetensors({"class_names": "cat,dog,fox"}),
     "The metadata's class_names must be a JSON list of strings, e.g. '[\"cat\", \"dog\", \"fox\"]'.", {}),
]


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def main() -> None:
    manifest = []
    for name, make, sentence, options in CASES:
        data = make()
        (HERE / name).write_bytes(data)
        size = f"{len(data) / 1e6:.3g} MB"
        manifest.append({"file": name, "error": sentence.replace("{size}", size), **options})
    (HERE / "cases.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(manifest)} files and cases.json to {HERE}")


if __name__ == "__main__":
    main()
