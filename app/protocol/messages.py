"""The control messages of the WebSocket protocol (docs/protocol.md), validated with pydantic, and close codes.

The limits are the engine's (engine/config.py): the WebSocket, the REST endpoints and the CLI validate
through these models, so a bad value gets the same clear message everywhere.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model, field_validator

from ..engine.config import CHOICES, LIMITS, MAX_MESSAGE_BYTES, MAX_SWEEP_MODELS, ConfigError, RunConfig, check
from ..engine.tabular import EXAMPLES

__all__ = ["MAX_MESSAGE_BYTES", "ControlError", "RunConfig", "merge_config", "parse_control"]

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN = 1013
CLOSE_IDLE = 4000  # application code: idle session closed; the page offers to reconnect instead of retrying


def _number(name: str, default: Any = ..., description: str | None = None) -> Any:
    """A pydantic Field with the engine's limit for `name` (engine/config.py LIMITS)."""
    lim = LIMITS[name]
    bounds = {"gt" if lim.lo_exclusive else "ge": lim.lo, "le": lim.hi}
    if lim.integer:
        bounds = {k: int(v) for k, v in bounds.items()}
    return Field(default, description=description, allow_inf_nan=False, **bounds)  # type: ignore[call-overload]


class Message(BaseModel):
    """A control message: unknown fields are refused; lax types ("0.3" is read as 0.3), as JSON clients send."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_dataset(cls: type, v: Any) -> Any:
    """The engine's own words for an unknown dataset (pydantic's for a value that is not a string)."""
    if isinstance(v, str):
        check("dataset", v)
    return v


def _settings_model() -> type[BaseModel]:
    """RunConfig's fields, types and limits as a pydantic model (validation of the `config` of reset and sweep)."""
    hints = get_type_hints(RunConfig)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(RunConfig):
        doc = f.metadata.get("doc")
        if f.name in CHOICES:
            kind: Any = Literal.__getitem__(CHOICES[f.name])
            fields[f.name] = (kind, Field(f.default, description=doc))
        elif f.name in LIMITS:
            fields[f.name] = (hints[f.name], _number(f.name, f.default, doc))
        else:
            fields[f.name] = (hints[f.name], Field(f.default, description=doc))
    model: type[BaseModel] = create_model(
        "RunSettings", __base__=Message, __validators__={"known_dataset": field_validator("dataset", mode="before")(
            _known_dataset)}, **fields)
    return model


RunSettings = _settings_model()


class Play(Message):
    type: Literal["play"]


class Pause(Message):
    type: Literal["pause"]


class Step(Message):
    type: Literal["step"]
    n: int = _number("n", 1, "steps to take now")


class Set(Message):
    """Live changes, applied at the next step without a reset; any subset."""

    type: Literal["set"]
    eps: float | None = _number("eps", None, "smoothing factor ε")
    lr: float | None = _number("lr", None, "learning rate")
    speed: int | None = _number("speed", None, "training steps per frame")
    fps: int | None = _number("fps", None, "frames per second cap")
    temperature: float | None = _number("temperature", None, "the distillation lab's softening temperature T")
    alpha: float | None = _number("alpha", None, "the distillation lab's weight of the hard labels")


class Reset(Message):
    type: Literal["reset"]
    config: dict[str, Any] = Field(default_factory=dict, description="RunConfig fields; others keep their value")


class Sweep(Message):
    """Switch this connection to an ε sweep: one model per ε, one vectorized bank."""

    type: Literal["sweep"]
    eps: list[Annotated[float, _number("eps")]] = Field(min_length=1, max_length=MAX_SWEEP_MODELS)
    config: dict[str, Any] = Field(default_factory=dict)


class LoadDataset(Message):
    """Train on a CSV file (issue 22): its text (`csv`), an example that ships (`example`), or neither: another
    label or classes for the file the session holds. Answered with {"type": "dataset", "summary": ...} and a
    reset on it (the session's mode kept), or an error that changes nothing. Its own size cap
    (MAX_DATASET_MESSAGE_BYTES); the file stays in the session's memory and is dropped with it."""

    type: Literal["dataset"]
    name: str = Field("your file", max_length=200, description="the file's name, as the page shows it")
    csv: str | None = Field(None, description="the file's text: UTF-8, else Latin-1, decoded by the page")
    example: str | None = Field(None, description=f"an example file: {', '.join(EXAMPLES)}")
    label: str | None = Field(None, max_length=1_000, description="the label column (default: chosen by name)")
    classes: list[Annotated[str, Field(max_length=1_000)]] | None = Field(
        None, min_length=3, max_length=3, description="the three classes (default: the most frequent)")
    sha256: str | None = Field(None, pattern="^[0-9a-f]{16}$", description="a link's fingerprint the file must have")
    config: dict[str, Any] = Field(default_factory=dict, description="RunConfig fields for the reset on it")

    @field_validator("example")
    @classmethod
    def _known_example(cls, v: str | None) -> str | None:
        if v is not None and v not in EXAMPLES:
            raise ValueError(f"no example named {_shown(v)}; the examples are {', '.join(EXAMPLES)}")
        return v


class Goto(Message):
    """Fast-forward to step `to` without sending frames (a link to a moment: `at=N` in the page's URL), then
    pause there and send that step's frame. Counted against the session's rate cap, like `step`."""

    type: Literal["goto"]
    to: int = _number("to", ..., "the step to fast-forward to, not before the current one")


class Inspect(Message):
    """Follow one point of the display subsample: every frame then carries its numbers (`inspect` in the
    header); `index: null` stops."""

    type: Literal["inspect"]
    index: int | None = _number("index", ..., "the point's position in the display subsample, or null")


class Distill(Message):
    """Switch this connection to the distillation lab (engine/distill.py): two teachers (ε = 0 and ε) train,
    then one student each learns from its teacher's softened probabilities. Fields left out take the lab's
    defaults; `config` holds the teachers' RunConfig fields to change, the others keep their value."""

    type: Literal["distill"]
    config: dict[str, Any] = Field(default_factory=dict)
    temperature: float | None = _number("temperature", None, "softening temperature T")
    alpha: float | None = _number("alpha", None, "weight of the hard labels' loss (0: pure distillation)")
    teacher_steps: int | None = _number("teacher_steps", None, "steps the teachers train")
    student_steps: int | None = _number("student_steps", None, "steps the students train, after the teachers")
    student_hidden: int | None = _number("student_hidden", None, "the students' hidden width")
    student_penultimate: int | None = _number("student_penultimate", None, "the students' penultimate dimension")

    def lab_changes(self) -> dict[str, Any]:
        """The lab settings this message sets (DistillSettings fields)."""
        return {k: v for k, v in self.model_dump(exclude={"type", "config"}).items() if v is not None}


class Answer(Message):
    """An attendee's answer to the lesson step the room is at (docs/protocol.md, "Lessons")."""

    type: Literal["answer"]
    step: int = Field(ge=1, le=1_000, description="the step answered, as the room counts them (1-based)")
    value: Annotated[str, Field(max_length=200)] | Annotated[float, Field(allow_inf_nan=False)]


class Follow(Message):
    """Follow the host's pace (on), or explore on one's own (off)."""

    type: Literal["follow"]
    on: bool


ROOM_TYPES = ("answer", "follow")
_ROOM = TypeAdapter(Annotated[Answer | Follow, Field(discriminator="type")])


def parse_room(data: dict[str, Any]) -> Answer | Follow:
    """Validate an `answer` or `follow` message or raise ControlError with a clear message."""
    try:
        return _ROOM.validate_python(data)
    except ValidationError as err:
        raise ControlError(f"bad {data.get('type')!r} message: {describe(err)}") from None


Control = Annotated[Play | Pause | Step | Set | Reset | Sweep | Distill | Goto | Inspect | LoadDataset,
                    Field(discriminator="type")]
_CONTROL = TypeAdapter(Control)
CONTROL_TYPES = ("play", "pause", "step", "set", "reset", "sweep", "distill", "goto", "inspect", "dataset")


def _allowed_ranges() -> dict[str, str]:
    """Field name → its allowed values in words, from the engine's limits (one source of truth)."""
    out = {"config": "an object of run settings", "ordered": "true or false", "csv": "the file's text",
           "classes": "three class names", "sha256": "16 hexadecimal digits", "label": "a column's name"}
    out.update({name: lim.words() for name, lim in LIMITS.items()})
    out.update({name: "one of " + ", ".join(values) for name, values in CHOICES.items()})
    return out


def _shown(value: Any) -> str:
    """repr of what the client sent, cut short (the message must not echo a 64 KB payload back)."""
    try:
        text = repr(value)
    except RecursionError:
        text = "a deeply nested value"
    return text if len(text) <= 60 else text[:57] + "..."


def describe(err: ValidationError) -> str:
    """A pydantic error in a user's words: which field, what was wrong, what is allowed."""
    parts = []
    for e in err.errors()[:3]:
        loc_parts = [str(p) for p in e["loc"]]
        if loc_parts and loc_parts[0] in CONTROL_TYPES + ROOM_TYPES:
            loc_parts = loc_parts[1:]  # the message's type: the tag pydantic puts first
        path = [p for p in loc_parts if not p.startswith("function-")]
        loc = ".".join(path)
        msg = e["msg"].removeprefix("Value error, ")
        ctx = e.get("ctx") or {}
        allowed = ALLOWED.get(path[0]) if path else None
        if e["type"] == "extra_forbidden":
            msg = "is not a setting this explorer knows"
        elif e["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            msg = f"{msg} (you sent {_shown(e.get('input'))})"
        elif ctx and "expected" in ctx and e["type"] == "literal_error":
            msg = f"must be one of {ctx['expected']} (you sent {_shown(e.get('input'))})"
        elif e["type"] != "value_error" and allowed:  # wrong type, NaN, ...: say what would do
            msg = f"{msg}; allowed: {allowed}"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


DIVERGED = "diverged"  # the `code` of the error message that says training diverged
RATE_LIMITED = "rate_limited"  # the `code` of "too many control messages" (sent once a second at most)


class ControlError(ValueError):
    """A control message that cannot be applied; str() is the user-facing message, `code` a machine-readable
    kind where the page acts on it (DIVERGED), sent as the error message's "code" field."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


ALLOWED = _allowed_ranges()


def parse_control(data: Any) -> Play | Pause | Step | Set | Reset | Sweep | Distill | Goto | Inspect | LoadDataset:
    """Validate a decoded JSON control message or raise ControlError with a clear message."""
    if not isinstance(data, dict):
        raise ControlError('a control message must be a JSON object such as {"type": "play"}')
    kind = data.get("type")
    if kind not in CONTROL_TYPES:
        raise ControlError(f"unknown control type {_shown(kind)}; expected one of {', '.join(CONTROL_TYPES)}")
    try:
        return _CONTROL.validate_python(data)
    except ValidationError as err:
        raise ControlError(f"bad {kind!r} message: {describe(err)}") from None
    except RecursionError:
        raise ControlError(f"bad {kind!r} message: too deeply nested") from None


def merge_config(base: RunConfig, changes: dict[str, Any]) -> RunConfig:
    """base with `changes` applied, validated; raises ControlError naming the field and range."""
    try:
        valid = RunSettings.model_validate({**base.as_dict(), **changes})
        return RunConfig(**valid.model_dump())
    except ValidationError as err:
        raise ControlError(f"bad run settings: {describe(err)}") from None
    except ConfigError as err:
        raise ControlError(f"bad run settings: {err}") from None
