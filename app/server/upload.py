"""A session's own CSV file over its WebSocket (issue 22): the `dataset` control's size cap, reading, applying.

The file travels in the session's own socket (uvicorn's workers share nothing per request) as JSON text, so a
`dataset` message has its own size cap apart from the 64 KB of every other control. The connection reads the
file here, in a thread of its own (5 MB take about a second; the training thread serves every session of the
worker), then queues it; the compute loop picks the label and classes (engine/tabular.py) and resets the run
on them, keeping the session's mode. The table lives in the LiveSession's memory only, never on disk, and goes
when the session ends. Every refusal is one sentence and changes nothing.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine.config import CSV, MAX_CSV_BYTES, MAX_DATASET_MESSAGE_BYTES
from ..engine.csvread import CsvError, Table, read_table, shown
from ..engine.distill import DistillSession
from ..engine.session import TrainingSession
from ..engine.tabular import CsvData, choose, example
from ..protocol.messages import ControlError, LoadDataset, merge_config, parse_control

if TYPE_CHECKING:
    from .live import LiveSession

__all__ = ["CsvData", "ReadDataset", "apply", "described", "read", "within_cap"]

# A message over 64 KB must say at once that it is a dataset: its type comes first, as the page sends it.
_DATASET_HEAD = re.compile(r'\s*\{\s*"type"\s*:\s*"dataset"\s*,')


def within_cap(text: str) -> bool:
    """Whether a message over 64 KB is a `dataset` message within its own cap (MAX_DATASET_MESSAGE_BYTES);
    raises ControlError for one over it."""
    if not _DATASET_HEAD.match(text[:200]):
        return False
    if len(text) > MAX_DATASET_MESSAGE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_DATASET_MESSAGE_BYTES:
        raise ControlError(f"the file is too large: the explorer reads files of at most {MAX_CSV_BYTES // 2**20} MB")
    return True


@dataclass(frozen=True)
class ReadDataset:
    """A `dataset` control with its file read: the table (None: another label or classes for the session's own
    file) and the name to show."""

    control: LoadDataset
    table: Table | None
    name: str


async def read(data: Any) -> ReadDataset:
    """Validate a `dataset` control and read its file (or example) off the event loop; raises ControlError with
    the reader's sentence."""
    ctrl = parse_control(data)
    assert isinstance(ctrl, LoadDataset)
    if ctrl.csv is not None and ctrl.example is not None:
        raise ControlError("a dataset message carries a csv or an example, not both")
    if ctrl.csv is None and ctrl.example is None:
        return ReadDataset(ctrl, None, ctrl.name)
    try:
        name, table = await asyncio.to_thread(_read, ctrl)
    except CsvError as err:
        raise ControlError(f"{shown(ctrl.example or ctrl.name)}: {err}") from None
    return ReadDataset(ctrl, table, name)


def _read(ctrl: LoadDataset) -> tuple[str, Table]:
    name, table = example(ctrl.example) if ctrl.example is not None else (ctrl.name, read_table(ctrl.csv or ""))
    if ctrl.sha256 is not None and table.sha256 != ctrl.sha256:
        raise CsvError(f"this is not the file the link was made with (its fingerprint is {table.sha256}, the "
                       f"link's {ctrl.sha256}): choose that file, or another dataset")
    return name, table


def apply(live: LiveSession, loaded: ReadDataset) -> None:
    """Choose the label and classes, rebuild the session's run on them (its mode kept) and queue the answer;
    raises ControlError with the session unchanged."""
    held = live.csv
    if loaded.table is None and held is None:
        raise ControlError("no CSV file in this session yet: send its text (csv) or an example first")
    table = loaded.table or (held.table if held is not None else None)
    name = loaded.name if loaded.table is not None or held is None else held.name
    assert table is not None
    try:
        data = choose(table, name, loaded.control.label, loaded.control.classes)
    except CsvError as err:
        raise ControlError(f"{shown(name)}: {err}") from None
    s = live.session
    config = merge_config(s.config, {**loaded.control.config, "dataset": CSV})
    if isinstance(s, DistillSession):
        live.start(lambda: DistillSession(config, s.settings, data))
    else:
        live.start(lambda: TrainingSession(config, s.eps_values if s.is_sweep else None, data))
    live.csv = data
    live.replies.append({"type": "dataset", "summary": data.summary})


def described(data: CsvData | None) -> dict[str, Any] | None:
    """The `state` message's `data`: the file a csv run trains on (name, fingerprint, label, classes)."""
    if data is None:
        return None
    return {"name": data.name, "sha256": data.table.sha256, "label": data.label, "classes": list(data.classes)}
