"""A run's settings (RunConfig) and every limit the explorer enforces, in one place.

The protocol builds its message validation from LIMITS and CHOICES, the server sends them to the pages
(their inputs' min and max), and the engine checks them itself: a value that passes one passes all.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

DATASETS = ("blobs", "digits", "digits-similar", "wine", "iris")  # built in: make_dataset builds them from a seed
CSV = "csv"  # the session's own CSV file (engine/csvread.py, engine/tabular.py): held in memory, never on disk
K = 3  # the toy is a three-class problem throughout


@dataclass(frozen=True)
class Limit:
    """The allowed values of one number: lo ≤ x ≤ hi (lo < x with lo_exclusive); whole numbers if integer."""

    lo: float
    hi: float
    integer: bool = False
    lo_exclusive: bool = False

    def bounds(self) -> tuple[str, str]:
        spec = "," if self.integer else "g"
        return format(self.lo, spec), format(self.hi, spec)

    def words(self) -> str:
        lo, hi = self.bounds()
        return f"more than {lo}, at most {hi}" if self.lo_exclusive else f"{lo} to {hi}"

    def admits(self, value: float) -> bool:
        above = value > self.lo if self.lo_exclusive else value >= self.lo
        return math.isfinite(value) and above and value <= self.hi


MAX_SPEED = 1_000  # training steps per frame, and per `step` message
MAX_FPS = 60
LIMITS: dict[str, Limit] = {
    # run settings (RunConfig)
    "points": Limit(30, 20_000, integer=True),
    "similarity": Limit(0.0, 1.0),
    "label_noise": Limit(0.0, 0.5),
    "seed": Limit(0, 2**31 - 1, integer=True),
    "hidden": Limit(1, 512, integer=True),
    "penultimate": Limit(2, 256, integer=True),
    "eps": Limit(0.0, 1.0),
    "lr": Limit(0.0, 10.0, lo_exclusive=True),
    "weight_decay": Limit(0.0, 1.0),
    "batch_size": Limit(1, 20_000, integer=True),
    "display_points": Limit(3, 3_000, integer=True),
    # live controls
    "speed": Limit(1, MAX_SPEED, integer=True),
    "fps": Limit(1, MAX_FPS, integer=True),
    "n": Limit(1, MAX_SPEED, integer=True),  # steps in one `step` message
    "to": Limit(0, 20_000, integer=True),  # the step a `goto` fast-forwards to (a link to a moment, at=N)
    "index": Limit(0, 2_999, integer=True),  # a point of the display subsample, for `inspect`
    # the distillation lab (engine/distill.py): softening temperature, hard-label weight, phases, student size
    "temperature": Limit(0.1, 20.0),
    "alpha": Limit(0.0, 1.0),
    "teacher_steps": Limit(1, 100_000, integer=True),
    "student_steps": Limit(1, 100_000, integer=True),
    "student_hidden": Limit(1, 512, integer=True),
    "student_penultimate": Limit(2, 256, integer=True),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "dataset": (*DATASETS, CSV),
    "optimizer": ("adam", "sgd"),
    "device": ("auto", "cpu", "cuda"),
}
MAX_SWEEP_MODELS = 41
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CONTROLS_PER_SECOND = 100
# Work per run: models × training points × (hidden + penultimate) units. Each field limit alone is safe,
# but their product is not: a 41-model sweep at 20,000 points and 512 + 256 units takes ~7 GB and ~50 s
# per full-batch step on one core. The largest twin the field limits allow (2 × 20,000 × 768) fits.
MAX_RUN_SIZE = 40_000_000
TABLE_POINTS = 600  # digits, wine and iris ship with fewer training points than this

# Your own data: a CSV file is read with these limits checked while reading (engine/csvread.py), so memory is
# bounded by them, not by the file; each has its own message there and in engine/tabular.py.
MAX_CSV_BYTES = 5 * 2**20  # the file (the text's characters, once decoded: never more than its bytes)
MAX_CSV_ROWS = 20_000  # data rows, the header not counted
MAX_CSV_FEATURES = 64  # numeric columns used as features
MAX_CSV_COLUMNS = 256  # columns of any kind
MAX_CSV_LINE = 65_536  # characters in one row (a quoted field's line breaks included)
MIN_CLASS_ROWS = 10  # usable rows in each of the three chosen classes
MAX_LABEL_NUMBERS = 20  # a numeric column with more distinct values is a measurement, not a label
# A `dataset` message carries the file as JSON text: at most 6 bytes per character (\u0001) and the rest of
# the message. Every other control is held to MAX_MESSAGE_BYTES.
MAX_DATASET_MESSAGE_BYTES = 6 * MAX_CSV_BYTES + MAX_MESSAGE_BYTES


LABELS = {"eps": "ε", "lr": "the learning rate", "label_noise": "label noise", "n": "the number of steps",
          "weight_decay": "weight decay", "batch_size": "the batch size", "display_points": "display points",
          "temperature": "the temperature T", "alpha": "α (the weight of the hard labels)",
          "teacher_steps": "the teachers' steps", "student_steps": "the students' steps",
          "student_hidden": "the students' hidden width", "student_penultimate": "the students' penultimate dimension"}


class ConfigError(ValueError):
    """A setting outside its limits; str() names the field and what is allowed."""


def check(name: str, value: Any) -> None:
    """Raise ConfigError unless `value` is allowed for the setting or control field `name`."""
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(CHOICES[name])}")
        return
    limit = LIMITS[name]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or (limit.integer and not isinstance(value, int)) or not limit.admits(float(value)):
        lo, hi = limit.bounds()
        allowed = f"more than {lo} and at most {hi}" if limit.lo_exclusive else f"between {lo} and {hi}"
        kind = "a whole number " if limit.integer else ""
        raise ConfigError(f"{LABELS.get(name, name)} must be {kind}{allowed}, got {value!r}")


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; the same seed gives the same run. Checked against LIMITS when built."""

    dataset: str = field(default="blobs", metadata=_doc(
        "blobs (2-D toy), digits (0, 1, 7), digits-similar (3, 5, 8), wine, iris, csv (the session's own file)"))
    points: int = field(default=600, metadata=_doc("training points (blobs only)"))
    similarity: float = field(default=0.0, metadata=_doc("blobs: 0 far apart, 1 classes 0 and 1 overlap"))
    label_noise: float = field(default=0.0, metadata=_doc("fraction of training labels flipped"))
    ordered: bool = field(default=False, metadata=_doc(
        "unshuffled: minibatches walk through class 0, then 1, then 2"))
    seed: int = field(default=0, metadata=_doc("seeds the data, the initial weights and the batches"))
    hidden: int = field(default=32, metadata=_doc("hidden layer width"))
    penultimate: int = field(default=8, metadata=_doc("penultimate layer dimension d"))
    eps: float = field(default=0.1, metadata=_doc("smoothing factor ε of the smoothed run"))
    lr: float = field(default=0.01, metadata=_doc("learning rate"))
    optimizer: str = field(default="adam", metadata=_doc("adam, or sgd with momentum 0.9"))
    weight_decay: float = field(default=0.0, metadata=_doc("L2 weight decay"))
    batch_size: int = field(default=128, metadata=_doc("minibatch size"))
    device: str = field(default="auto", metadata=_doc("auto picks CUDA when available"))
    display_points: int = field(default=300, metadata=_doc("points streamed per run (metrics use all)"))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "ordered":
                if not isinstance(value, bool):
                    raise ConfigError(f"ordered must be true or false, got {value!r}")
            else:
                check(f.name, value)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with `changes` applied, checked."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def training_points(self) -> int:
        return self.points if self.dataset == "blobs" else TABLE_POINTS


def run_size(config: RunConfig, models: int, points: int | None = None) -> int:
    """models × training points × (hidden + penultimate): what a step and a snapshot cost, roughly.

    `points`: the training points where the config alone does not say (a CSV file's)."""
    return models * (points or config.training_points) * (config.hidden + config.penultimate)


def check_run_size(config: RunConfig, models: int, points: int | None = None) -> None:
    """Raise ConfigError, naming the fields and the limit, when a run would be too large to serve."""
    size = run_size(config, models, points)
    if size > MAX_RUN_SIZE:
        n = points or config.training_points
        raise ConfigError(
            f"run too large: models × points × (hidden + penultimate) = {models} × {n} × "
            f"({config.hidden} + {config.penultimate}) = {size:,}, at most {MAX_RUN_SIZE:,}; "
            "use fewer ε values, fewer points or a narrower network"
        )


def finite(x: float | None) -> float | None:
    """JSON-safe float: NaN and ±inf become None."""
    if x is None or isinstance(x, int):
        return x
    return float(x) if math.isfinite(x) else None


def page_limits(fps_cap: int) -> dict[str, Any]:
    """The limits as the pages read them (their inputs' min and max); fps at most the server's cap."""
    fields = {name: {"min": lim.lo, "max": lim.hi, "integer": lim.integer,
                     **({"min_exclusive": True} if lim.lo_exclusive else {})}
              for name, lim in LIMITS.items()}
    fields["fps"]["max"] = min(fps_cap, MAX_FPS)
    fields["step"] = fields.pop("n")
    return {"fields": fields, "choices": {k: list(v) for k, v in CHOICES.items()}, "sweep_models": MAX_SWEEP_MODELS,
            "csv": {"bytes": MAX_CSV_BYTES, "rows": MAX_CSV_ROWS, "features": MAX_CSV_FEATURES,
                    "class_rows": MIN_CLASS_ROWS}}
