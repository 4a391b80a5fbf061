"""A lesson as data: steps with a page, settings, an optional question and its answer (docs/lessons.md).

`parse_lesson(data, source)` checks a decoded TOML table field by field; the first problem raises LessonError
naming the file, the step (1-based, as the host counts them) and the field. Texts are a safe Markdown subset
(markdown.py): nothing in a lesson file becomes HTML of its own.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..engine.config import LIMITS, MAX_SWEEP_MODELS, ConfigError, RunConfig, check
from ..engine.scenarios import SCENARIOS
from .markdown import render, words

PAGES = ("explorer", "calculator", "sweep", "distill")
KINDS = ("choice", "number")
MAX_TEXT_WORDS = 130  # "a short text, at most ~120 words": a step is read aloud in a minute
MAX_TITLE = 80
MAX_STEPS = 40
SETTINGS: dict[str, tuple[str, ...]] = {  # what a step may set, by page
    "explorer": ("scenario", "config", "eps", "play", "speed"),
    "calculator": ("probs", "label", "eps"),
    "sweep": ("eps", "steps", "config", "play"),
    "distill": ("config", "eps", "temperature", "alpha", "play"),
}
PROJECTOR = ("answers", "sweep")  # what the projector shows at a step: the answers, or the room's ε sweep
SCENARIO_KEYS = tuple(s.key for s in SCENARIOS)


class LessonError(ValueError):
    """A lesson file that cannot be used; str() names the file, the step and the field."""

    def __init__(self, source: str, step: int | None, where: str, problem: str) -> None:
        at = f", step {step}" if step is not None else ""
        super().__init__(f"{source}{at}, field {where!r}: {problem}")


@dataclass(frozen=True)
class Question:
    kind: str  # "choice" or "number"
    prompt: str
    answer: str | float
    why: str  # HTML (safe subset)
    choices: tuple[str, ...] = ()
    tolerance: float = 0.0
    unit: str = ""

    def check(self, value: Any) -> str | float:
        """An attendee's answer, checked: one of the choices, or a finite number; ValueError in words otherwise."""
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"the answer must be one of: {', '.join(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or abs(value) > 1e6:
            raise ValueError("the answer must be a number")
        return float(value)

    def right(self, value: str | float) -> bool:
        if self.kind == "choice":
            return value == self.answer
        return abs(float(value) - float(self.answer)) <= self.tolerance

    def public(self) -> dict[str, Any]:
        """What a page shows before the answer: the prompt and the choices (or that a number is asked)."""
        out: dict[str, Any] = {"kind": self.kind, "prompt": self.prompt}
        if self.kind == "choice":
            out["choices"] = list(self.choices)
        else:
            out.update(unit=self.unit, tolerance=self.tolerance)
        return out

    def revealed(self) -> dict[str, Any]:
        return {**self.public(), "answer": self.answer, "why": self.why}


@dataclass(frozen=True)
class Step:
    title: str
    page: str
    text: str  # HTML (safe subset)
    look_for: str  # HTML (safe subset)
    settings: dict[str, Any] = field(default_factory=dict)
    question: Question | None = None
    projector: str = "answers"

    def public(self) -> dict[str, Any]:
        return {"title": self.title, "page": self.page, "text": self.text, "look_for": self.look_for,
                "settings": self.settings, "projector": self.projector,
                "question": self.question.public() if self.question else None}


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    summary: str  # HTML (safe subset)
    steps: tuple[Step, ...]

    def describe(self) -> dict[str, Any]:
        """The lesson as GET /api/lessons lists it."""
        return {"name": self.name, "title": self.title, "summary": self.summary, "steps": len(self.steps),
                "titles": [s.title for s in self.steps]}

    def public(self) -> dict[str, Any]:
        """Every step, with each question's answer and why (the self-paced page's "show the answer")."""
        steps = []
        for s in self.steps:
            entry = s.public()
            if s.question is not None:
                entry["question"] = s.question.revealed()
            steps.append(entry)
        return {**self.describe(), "steps": steps}


def parse_lesson(name: str, data: dict[str, Any], source: str) -> Lesson:
    """A lesson from its decoded TOML; LessonError on the first problem."""
    _only(data, ("title", "summary", "steps"), source, None, "")
    title = _text(data, "title", source, None, limit=MAX_TITLE)
    summary = render(_text(data, "summary", source, None, words_max=MAX_TEXT_WORDS))
    raw = data.get("steps")
    if not isinstance(raw, list) or not raw:
        raise LessonError(source, None, "steps", "a lesson needs [[steps]], at least one")
    if len(raw) > MAX_STEPS:
        raise LessonError(source, None, "steps", f"at most {MAX_STEPS} steps, found {len(raw)}")
    return Lesson(name, title, summary, tuple(_step(s, source, i + 1) for i, s in enumerate(raw)))


def _step(data: Any, source: str, n: int) -> Step:
    if not isinstance(data, dict):
        raise LessonError(source, n, "", "a step is a table ([[steps]])")
    _only(data, ("title", "page", "text", "look_for", "settings", "question", "projector"), source, n, "")
    page = data.get("page")
    if page not in PAGES:
        raise LessonError(source, n, "page", f"must be one of {', '.join(PAGES)}, got {page!r}")
    projector = data.get("projector", "answers")
    if projector not in PROJECTOR:
        raise LessonError(source, n, "projector", f"must be one of {', '.join(PROJECTOR)}, got {projector!r}")
    question = _question(data["question"], source, n) if "question" in data else None
    return Step(title=_text(data, "title", source, n, limit=MAX_TITLE), page=page,
                text=render(_text(data, "text", source, n, words_max=MAX_TEXT_WORDS)),
                look_for=render(_text(data, "look_for", source, n, words_max=MAX_TEXT_WORDS)),
                settings=_settings(page, data.get("settings", {}), source, n), question=question,
                projector=projector)


def _question(data: Any, source: str, n: int) -> Question:
    if not isinstance(data, dict):
        raise LessonError(source, n, "question", "a question is a table ([steps.question])")
    _only(data, ("kind", "prompt", "choices", "answer", "tolerance", "unit", "why"), source, n, "question.")
    kind = data.get("kind")
    if kind not in KINDS:
        raise LessonError(source, n, "question.kind", f"must be choice or number, got {kind!r}")
    prompt = _text(data, "prompt", source, n, limit=200, prefix="question.")
    why = render(_text(data, "why", source, n, words_max=MAX_TEXT_WORDS, prefix="question."))
    answer: Any = data.get("answer")
    if kind == "choice":
        choices = data.get("choices")
        if not (isinstance(choices, list) and 2 <= len(choices) <= 6 and all(isinstance(c, str) and c.strip()
                                                                              for c in choices)):
            raise LessonError(source, n, "question.choices", "2 to 6 choices, each a non-empty string")
        if len(set(choices)) != len(choices):
            raise LessonError(source, n, "question.choices", "the choices must differ")
        if answer not in choices:
            raise LessonError(source, n, "question.answer", f"must be one of the choices, got {answer!r}")
        return Question(kind, prompt, answer, why, choices=tuple(choices))
    if "choices" in data:
        raise LessonError(source, n, "question.choices", "a number question has no choices")
    tolerance: Any = data.get("tolerance")
    if not _number(answer):
        raise LessonError(source, n, "question.answer", f"must be a number, got {answer!r}")
    if not _number(tolerance) or not float(tolerance) > 0:
        raise LessonError(source, n, "question.tolerance", f"must be a number above 0, got {tolerance!r}")
    unit = data.get("unit", "")
    if not isinstance(unit, str) or len(unit) > 20:
        raise LessonError(source, n, "question.unit", "a short text, at most 20 characters")
    return Question(kind, prompt, float(answer), why, tolerance=float(tolerance), unit=unit)


def _settings(page: str, data: Any, source: str, n: int) -> dict[str, Any]:
    """The step's settings, each checked as the engine checks it; a problem names the setting (settings.eps,
    settings.config.label_noise)."""
    if not isinstance(data, dict):
        raise LessonError(source, n, "settings", "settings is a table ([steps.settings])")
    _only(data, SETTINGS[page], source, n, "settings.", f"on the {page} page a step may set")
    for key, value in data.items():
        try:
            _setting(page, key, value, data)
        except _BadRunSetting as err:
            raise LessonError(source, n, f"settings.config.{err.name}", str(err)) from None
        except (ValueError, TypeError, ConfigError) as err:
            raise LessonError(source, n, f"settings.{key}", str(err)) from None
    return dict(data)


class _BadRunSetting(ValueError):
    """A field of a step's config that the engine refuses; `name` is the field."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(problem)
        self.name = name


def _setting(page: str, key: str, value: Any, data: dict[str, Any]) -> None:
    if key == "scenario":
        if value not in SCENARIO_KEYS:
            raise ValueError(f"unknown scenario {value!r}; one of {', '.join(SCENARIO_KEYS)}")
    elif key == "config":
        _config(value)
    elif key == "play":
        if not isinstance(value, bool):
            raise ValueError(f"play is true or false, got {value!r}")
    elif page == "calculator" and key in ("probs", "label"):
        _calculator(key, value, data.get("probs"))
    elif page == "sweep" and key in ("eps", "steps"):
        _sweep(key, value)
    else:  # eps, temperature, alpha, speed: a number within the engine's limit
        check(key, value)


def _config(config: Any) -> None:
    """Every field a RunConfig has, each within its limit, as the engine checks them."""
    if not isinstance(config, dict):
        raise ValueError("config is a table of run settings")
    names = [f.name for f in dataclasses.fields(RunConfig)]
    for name, value in config.items():
        if name not in names:
            raise _BadRunSetting(name, f"not a run setting; one of {', '.join(names)}")
        try:
            RunConfig().replace(**{name: value})
        except ConfigError as err:
            raise _BadRunSetting(name, str(err)) from None


def _calculator(key: str, value: Any, probs: Any) -> None:
    if key == "probs":
        if not (isinstance(value, list) and 2 <= len(value) <= 10 and all(_number(p) and p > 0 for p in value)):
            raise ValueError("2 to 10 positive numbers")
        if abs(sum(value) - 1.0) > 1e-6:
            raise ValueError(f"the probabilities must add up to 1, they add up to {sum(value):g}")
        return
    classes = len(probs) if isinstance(probs, list) else 10
    if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= classes):
        raise ValueError(f"the true class, 1 to {classes} (counted from 1), got {value!r}")


def _sweep(key: str, value: Any) -> None:
    if key == "eps":
        if not (isinstance(value, list) and 1 <= len(value) <= MAX_SWEEP_MODELS):
            raise ValueError(f"a list of 1 to {MAX_SWEEP_MODELS} values of ε")
        for e in value:
            check("eps", e)
        return
    if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= LIMITS["to"].hi):
        raise ValueError(f"a whole number from 1 to {int(LIMITS['to'].hi):,}, got {value!r}")


def _only(data: dict[str, Any], allowed: tuple[str, ...], source: str, n: int | None, prefix: str,
          words_: str = "allowed") -> None:
    for key in data:
        if key not in allowed:
            raise LessonError(source, n, prefix + key, f"not a field a lesson knows; {words_}: {', '.join(allowed)}")


def _text(data: dict[str, Any], key: str, source: str, n: int | None, *, limit: int | None = None,
          words_max: int | None = None, prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LessonError(source, n, prefix + key, "a non-empty text is needed")
    value = value.strip()
    if limit is not None and len(value) > limit:
        raise LessonError(source, n, prefix + key, f"at most {limit} characters, found {len(value)}")
    if words_max is not None and words(value) > words_max:
        raise LessonError(source, n, prefix + key, f"at most {words_max} words, found {words(value)}")
    return value


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
