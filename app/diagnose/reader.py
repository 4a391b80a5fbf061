"""A network's dump for `diagnose`, read from the bytes of an .npz or a .safetensors file, or one sentence why not.

The file holds `features` (N, d), the penultimate activations; `labels` (N,); `weight` (K, d) and `bias` (K,) of
the last layer; optionally `val_features`, `val_labels` and `class_names` (docs/diagnose.md). Safe to open a
stranger's file: nothing is unpickled (np.load(allow_pickle=False); safetensors through the `safetensors`
package), and each zip member's declared size and array header are checked against the cap before its data is
read, so memory is bounded by the cap, not by what a file claims.
"""

from __future__ import annotations

import difflib
import io
import json
import lzma
import math
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_MAX_MB = 200.0
ARRAYS = ("features", "labels", "weight", "bias", "val_features", "val_labels", "class_names")
REQUIRED = ("features", "labels", "weight", "bias")
MAX_NAME = 80  # characters of a class name that are kept
# safetensors dtypes numpy reads; BF16 and the FP8 kinds it cannot
NUMPY_SAFETENSORS = {"BOOL", "U8", "I8", "U16", "I16", "F16", "U32", "I32", "F32", "U64", "I64", "F64"}
MAX_HEADER = 10_000_000  # bytes of a safetensors JSON header
# what a damaged zip can raise while it is opened or read (encrypted members and unknown compressions included)
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, ValueError, EOFError, RuntimeError,
              NotImplementedError)


class DiagnoseError(ValueError):
    """A file or a setting `diagnose` cannot use, in one sentence for the user."""


class TooLarge(DiagnoseError):
    """A file, or the arrays it declares, over the size cap."""


class BadSetting(DiagnoseError):
    """A setting of the report (classes, ε, points, seed, the cap), not the file."""


@dataclass(frozen=True)
class NetworkDump:
    """What a file holds, checked: float64 activations and last layer, int64 labels."""

    features: np.ndarray  # (N, d)
    labels: np.ndarray  # (N,)
    weight: np.ndarray  # (K, d)
    bias: np.ndarray  # (K,)
    val_features: np.ndarray | None  # (V, d)
    val_labels: np.ndarray | None  # (V,)
    class_names: list[str] | None  # K names
    source: str  # "npz" or "safetensors"

    @property
    def k(self) -> int:
        return int(self.weight.shape[0])


def mb(n: float) -> str:
    """Bytes in MB (10⁶ bytes), as people read them: 200 MB, 1.5 MB."""
    return f"{n / 1e6:.3g} MB"


def max_bytes(max_mb: float) -> int:
    """The cap in bytes for a cap in MB (any positive number; 200 by default)."""
    if not (math.isfinite(max_mb) and max_mb > 0):
        raise BadSetting(f"The size cap must be a positive number of MB, got {max_mb:g}.")
    return int(max_mb * 1e6)


def read_dump(data: bytes, max_mb: float = DEFAULT_MAX_MB) -> NetworkDump:
    """The checked arrays of an .npz or .safetensors file's bytes; DiagnoseError with one sentence otherwise."""
    cap = max_bytes(max_mb)
    if not data:
        raise DiagnoseError("The file is empty.")
    if len(data) > cap:
        raise TooLarge(f"The file is {mb(len(data))}, over the {mb(cap)} cap.")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        arrays, present = _read_npz(data, cap)
        names, source = None, "npz"
    elif data[:6] == b"\x93NUMPY":
        raise DiagnoseError("This is a single .npy array: save the arrays together in one file with np.savez "
                            "(docs/diagnose.md).")
    elif data[:1] == b"\x80":
        raise DiagnoseError("This is a pickle (an old torch.save file?), which is never loaded here: save the arrays "
                            "with np.savez or safetensors (docs/diagnose.md).")
    elif len(data) >= 9 and data[8:9] == b"{":
        arrays, names = _read_safetensors(data)
        present, source = sorted(arrays), "safetensors"
    else:
        raise DiagnoseError("The file is neither an .npz nor a .safetensors file.")
    return _checked(arrays, present, names, source)


def _read_npz(data: bytes, cap: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """The wanted arrays of an .npz and the names of all it holds: declared sizes and headers checked first, then
    np.load(allow_pickle=False) reads the wanted ones."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except ZIP_ERRORS:
        raise DiagnoseError("The .npz file is damaged: it is not a readable zip archive.") from None
    if any(i.filename.endswith(".pkl") for i in infos):
        raise DiagnoseError("This is a PyTorch checkpoint (torch.save), a pickle, which is never loaded here: save "
                            "the arrays with np.savez or safetensors (docs/diagnose.md).")
    members = {i.filename.removesuffix(".npy"): i for i in infos if i.filename.endswith(".npy")}
    if not members:
        raise DiagnoseError("The zip file holds no NumPy arrays: make the .npz with np.savez (docs/diagnose.md).")
    wanted = {name: members[name] for name in ARRAYS if name in members}
    if any(info.flag_bits & 0x1 for info in wanted.values()):
        raise DiagnoseError("The .npz file is encrypted: save it without a password (np.savez).")
    declared = sum(i.file_size for i in wanted.values())
    if declared > cap:
        raise TooLarge(f"The arrays in the file declare {mb(declared)} unpacked, over the {mb(cap)} cap.")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name, info in wanted.items():
            _check_npy_header(archive, info, name)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: np.asarray(npz[name]) for name in wanted}, sorted(members)
    except ZIP_ERRORS:
        raise DiagnoseError("The .npz file is damaged: an array could not be read in full.") from None


def _check_npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    """An array's header, read before its data: a dtype of numbers or text, and a size its member can hold."""
    try:
        with archive.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = reader(fp)
    except ZIP_ERRORS:
        raise DiagnoseError(f"The .npz file is damaged: `{name}` is not a readable NumPy array.") from None
    if dtype.hasobject:
        raise DiagnoseError(f"`{name}` is an object array, which could hold pickled code and is never loaded: save "
                            "numbers, and class names as a string array (np.array(names)).")
    if math.prod(shape) * dtype.itemsize > info.file_size:
        raise DiagnoseError(f"The .npz file is damaged: `{name}` declares more data than the file holds.")


def _read_safetensors(data: bytes) -> tuple[dict[str, np.ndarray], list[str] | None]:
    """The arrays of a .safetensors file (the `safetensors` package reads them) and class names from its metadata."""
    size = int.from_bytes(data[:8], "little")
    if size > min(len(data) - 8, MAX_HEADER):
        raise DiagnoseError("The .safetensors file is damaged: its header runs past the end of the file.")
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DiagnoseError("The .safetensors file is damaged: its header is not JSON.") from None
    if not isinstance(header, dict):
        raise DiagnoseError("The .safetensors file is damaged: its header is not a JSON object.")
    meta = header.pop("__metadata__", None) or {}
    room = len(data) - 8 - size
    for name, spec in header.items():
        kind = spec.get("dtype") if isinstance(spec, dict) else None
        if name in ARRAYS and kind not in NUMPY_SAFETENSORS:
            raise DiagnoseError(f"`{name}` is stored as {kind}, which NumPy cannot read: save it as float32 "
                                "(tensor.float()).")
        span = spec.get("data_offsets") if isinstance(spec, dict) else None
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(v, int) for v in span)
                and 0 <= span[0] <= span[1] <= room):
            raise DiagnoseError(f"The .safetensors file is damaged: `{name}` runs past the end of the file.")
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        arrays = load(data)
    except (SafetensorError, ValueError, TypeError, OverflowError) as err:
        raise DiagnoseError(f"The .safetensors file is damaged: {_first_line(err)}.") from None
    names = meta.get("class_names") if isinstance(meta, dict) else None
    if names is None:
        return arrays, None
    try:
        parsed = json.loads(names)
    except (TypeError, json.JSONDecodeError):
        parsed = None
    if not (isinstance(parsed, list) and all(isinstance(n, str) for n in parsed)):
        raise DiagnoseError('The metadata\'s class_names must be a JSON list of strings, e.g. \'["cat", "dog", '
                            '"fox"]\'.')
    return arrays, parsed


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0].rstrip(".")[:200]


def _checked(arrays: dict[str, np.ndarray], present: list[str], names: list[str] | None, source: str) -> NetworkDump:
    """The arrays, checked one property at a time, each failure its own sentence; `present`: every array's name."""
    for name in REQUIRED:
        if name not in arrays:
            raise DiagnoseError(_missing(name, present))
    features = _numbers(arrays, "features", 2, "(N, d): flatten it, e.g. x.flatten(1)")
    weight = _numbers(arrays, "weight", 2, "(K, d), the last nn.Linear's weight")
    bias = _numbers(arrays, "bias", 1, "(K,)")
    n, d = features.shape
    k = weight.shape[0]
    if weight.shape[1] != d:
        hint = " (it looks transposed: save it as (K, d))" if weight.shape[0] == d else ""
        raise DiagnoseError(f"`weight` is {_shape(weight)} but `features` has d = {d} columns: the weight must be "
                            f"(K, {d}){hint}.")
    if bias.shape[0] != k:
        raise DiagnoseError(f"`bias` has {bias.shape[0]} entries but `weight` has K = {k} rows.")
    if k < 3:
        raise DiagnoseError(f"The last layer has K = {k} classes; the template plane needs at least 3.")
    labels = _labels(arrays, "labels", n, "features", k)
    val_features = val_labels = None
    if ("val_features" in arrays) != ("val_labels" in arrays):
        have, lack = ("val_features", "val_labels") if "val_features" in arrays else ("val_labels", "val_features")
        raise DiagnoseError(f"The file has `{have}` but no `{lack}`: give both or neither.")
    if "val_features" in arrays:
        val_features = _numbers(arrays, "val_features", 2, "(V, d)")
        if val_features.shape[1] != d:
            raise DiagnoseError(f"`val_features` has {val_features.shape[1]} columns but `features` has {d}.")
        val_labels = _labels(arrays, "val_labels", val_features.shape[0], "val_features", k)
    if "class_names" in arrays:
        names = _class_names(arrays["class_names"])
    if names is not None and len(names) != k:
        raise DiagnoseError(f"`class_names` has {len(names)} names but the last layer has K = {k} classes.")
    for name, arr in (("features", features), ("weight", weight), ("bias", bias), ("val_features", val_features)):
        if arr is not None and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise DiagnoseError(f"`{name}` holds {bad} NaN or infinite value{'s' if bad > 1 else ''}.")
    return NetworkDump(features, labels, weight, bias, val_features, val_labels,
                       None if names is None else [_clean(s) for s in names], source)


def _missing(name: str, have: list[str]) -> str:
    near = difflib.get_close_matches(name, [h for h in have if h not in ARRAYS], n=1, cutoff=0.6)
    if near:
        return f"The file has no `{name}` array; it has `{near[0]}`: name it `{name}` (docs/diagnose.md)."
    listed = ", ".join(f"`{h}`" for h in have[:8]) or "none"
    return f"The file has no `{name}` array (it has {listed}); docs/diagnose.md lists the names."


def _shape(arr: np.ndarray) -> str:
    return "(" + ", ".join(str(s) for s in arr.shape) + ("," if arr.ndim == 1 else "") + ")"


def _numbers(arrays: dict[str, np.ndarray], name: str, ndim: int, want: str) -> np.ndarray:
    arr = arrays[name]
    if arr.dtype.kind not in "fiu":
        raise DiagnoseError(f"`{name}` must hold numbers, not {arr.dtype}.")
    if arr.ndim != ndim:
        raise DiagnoseError(f"`{name}` is {_shape(arr)}; it must be {want}.")
    if arr.size == 0:
        raise DiagnoseError(f"`{name}` is empty.")
    with np.errstate(invalid="ignore"):  # a signalling NaN in the file (a damaged one): the finite check says so
        return np.ascontiguousarray(arr, dtype=np.float64)


def _labels(arrays: dict[str, np.ndarray], name: str, n: int, rows_of: str, k: int) -> np.ndarray:
    arr = arrays[name]
    if arr.dtype.kind not in "iu":
        raise DiagnoseError(f"`{name}` must be integers (class indices), not {arr.dtype}: e.g. y.long().")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DiagnoseError(f"`{name}` is {_shape(arr)} but `{rows_of}` has {n} rows: one label per row.")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= k:
        bad = lo if lo < 0 else hi
        raise DiagnoseError(f"`{name}` must lie in 0..{k - 1} (the last layer's K = {k} classes); it holds {bad}.")
    return arr.astype(np.int64)


def _class_names(arr: np.ndarray) -> list[str]:
    if arr.dtype.kind not in "US" or arr.ndim != 1:
        raise DiagnoseError("`class_names` must be a list of strings, e.g. np.array(['cat', 'dog', 'fox']).")
    return [s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s) for s in arr.tolist()]


def _clean(name: Any) -> str:
    """A class name as shown: printable characters, at most MAX_NAME of them."""
    return "".join(c if c.isprintable() else " " for c in str(name))[:MAX_NAME]
