"""The run configuration and the control messages, with the server-side limits (issue: reliability).

One home for every limit: the WebSocket, the REST endpoints and the CLI all validate through these
models, so a bad value gets the same clear message everywhere.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from ..engine.data import DATASETS

MAX_POINTS = 20_000
MAX_HIDDEN = 512
MAX_PENULTIMATE = 256
MAX_SPEED = 1_000  # steps per frame
MAX_FPS = 60
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CONTROLS_PER_SECOND = 100
MAX_SWEEP_MODELS = 41
# Work per run: models × training points × (hidden + penultimate) units. Each field limit alone is safe,
# but their product is not: a 41-model sweep at 20,000 points and 512 + 256 units takes ~7 GB and ~50 s
# per full-batch step on one core. The largest twin the field limits allow (2 × 20,000 × 768) fits.
MAX_RUN_SIZE = 40_000_000
TABLE_POINTS = 600  # digits, wine and iris ship with fewer training points than this

Eps = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, description="smoothing factor ε")]
Lr = Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False, description="learning rate")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class RunConfig(Strict):
    """Everything that defines a run; the same seed gives the same run."""

    dataset: Literal["blobs", "digits", "digits-similar", "wine", "iris"] = Field(
        "blobs", description="blobs (2-D toy), digits (0, 1, 7), digits-similar (3, 5, 8), wine, iris"
    )
    points: int = Field(600, ge=30, le=MAX_POINTS, description="training points (blobs only)")
    similarity: float = Field(
        0.0, ge=0.0, le=1.0, allow_inf_nan=False, description="blobs: 0 far apart, 1 classes 0 and 1 overlap"
    )
    label_noise: float = Field(
        0.0, ge=0.0, le=0.5, allow_inf_nan=False, description="fraction of training labels flipped"
    )
    ordered: bool = Field(False, description="unshuffled: minibatches walk through class 0, then 1, then 2")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seeds the data, the initial weights and the batches")
    hidden: int = Field(32, ge=1, le=MAX_HIDDEN, description="hidden layer width")
    penultimate: int = Field(8, ge=2, le=MAX_PENULTIMATE, description="penultimate layer dimension d")
    eps: Eps = 0.1
    lr: Lr = 0.01
    optimizer: Literal["adam", "sgd"] = Field("adam", description="adam, or sgd with momentum 0.9")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False, description="L2 weight decay")
    batch_size: int = Field(128, ge=1, le=MAX_POINTS, description="minibatch size")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks CUDA when available")
    display_points: int = Field(300, ge=3, le=3_000, description="points streamed per run (metrics use all)")

    @field_validator("dataset", mode="before")
    @classmethod
    def _known_dataset(cls, v: Any) -> Any:
        if isinstance(v, str) and v not in DATASETS:
            raise ValueError(f"unknown dataset {v!r}; choose one of {', '.join(DATASETS)}")
        return v


class Play(Strict):
    type: Literal["play"]


class Pause(Strict):
    type: Literal["pause"]


class Step(Strict):
    type: Literal["step"]
    n: int = Field(1, ge=1, le=MAX_SPEED, description="steps to take now")


class Set(Strict):
    """Live changes, applied at the next step without a reset; any subset."""

    type: Literal["set"]
    eps: Eps | None = None
    lr: Lr | None = None
    speed: int | None = Field(None, ge=1, le=MAX_SPEED, description="training steps per frame")
    fps: int | None = Field(None, ge=1, le=MAX_FPS, description="frames per second cap")


class Reset(Strict):
    type: Literal["reset"]
    config: dict[str, Any] = Field(default_factory=dict, description="RunConfig fields; others keep their value")


class Sweep(Strict):
    """Switch this connection to an ε sweep: one model per ε, one vectorized bank."""

    type: Literal["sweep"]
    eps: list[Eps] = Field(min_length=1, max_length=MAX_SWEEP_MODELS)
    config: dict[str, Any] = Field(default_factory=dict)


Control = Annotated[Play | Pause | Step | Set | Reset | Sweep, Field(discriminator="type")]
_CONTROL = TypeAdapter(Control)
CONTROL_TYPES = ("play", "pause", "step", "set", "reset", "sweep")


def _allowed_ranges() -> dict[str, str]:
    """Field name → its allowed values in words, from the models' own limits (one source of truth)."""
    out = {"config": "an object of run settings"}
    for model in (RunConfig, Set, Step):
        for name, prop in model.model_json_schema()["properties"].items():
            for p in (prop, *prop.get("anyOf", [])):
                spec = "," if p.get("type") == "integer" else "g"

                def fmt(v: float, spec: str = spec) -> str:
                    return format(v, spec)

                if "maximum" in p and "exclusiveMinimum" in p:
                    out.setdefault(name, f"more than {fmt(p['exclusiveMinimum'])}, at most {fmt(p['maximum'])}")
                elif "maximum" in p and "minimum" in p:
                    out.setdefault(name, f"{fmt(p['minimum'])} to {fmt(p['maximum'])}")
                elif "enum" in p:
                    out.setdefault(name, "one of " + ", ".join(map(str, p["enum"])))
                elif p.get("type") == "boolean":
                    out.setdefault(name, "true or false")
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
        path = [str(p) for p in e["loc"] if str(p) not in CONTROL_TYPES and not str(p).startswith("function-")]
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


class ControlError(ValueError):
    """A control message that cannot be applied; str() is the user-facing message."""


ALLOWED = _allowed_ranges()


def parse_control(data: Any) -> Play | Pause | Step | Set | Reset | Sweep:
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
        return RunConfig.model_validate({**base.model_dump(), **changes})
    except ValidationError as err:
        raise ControlError(f"bad run settings: {describe(err)}") from None


def run_size(config: RunConfig, models: int) -> int:
    """models × training points × (hidden + penultimate): what a step and a snapshot cost, roughly."""
    points = config.points if config.dataset == "blobs" else TABLE_POINTS
    return models * points * (config.hidden + config.penultimate)


def check_run_size(config: RunConfig, models: int) -> None:
    """Raise ControlError, naming the fields and the limit, when a run would be too large to serve."""
    size = run_size(config, models)
    if size > MAX_RUN_SIZE:
        raise ControlError(
            f"run too large: models × points × (hidden + penultimate) = {models} × "
            f"{config.points if config.dataset == 'blobs' else TABLE_POINTS} × "
            f"({config.hidden} + {config.penultimate}) = {size:,}, at most {MAX_RUN_SIZE:,}; "
            "use fewer ε values, fewer points or a narrower network"
        )


def finite(x: float | None) -> float | None:
    """JSON-safe float: NaN and ±inf become None."""
    if x is None or isinstance(x, int):
        return x
    return float(x) if math.isfinite(x) else None
