"""The numbers a lesson's texts state, found and normalised, and the inputs a step's own settings hold.

A *mention* is one stated number with what makes it mean something: a formula in `code` (checked whole), a
vector [0.05, 0.9, …], "ln 28", "ε = 0.1" (also T, α, K), "class 0", a percentage, or a plain number. Digits
inside a name (p1, CIFAR-100, z_k) are not numbers. Formulas must be written in `code`, so a 1 in
`1 − ε + ε/K` is read as part of its formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from app.engine.config import K, RunConfig
from app.engine.data import make_dataset
from app.engine.distill import DistillSession
from app.engine.session import TrainingSession
from app.lessons import Step

from .lesson_runs import SCENARIO, distill_settings, run_config

_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
MENTION = re.compile(
    r"`[^`\n]*`"  # a formula, whole
    r"|\[[^\]\n]*\]"  # a vector
    rf"|(?<!\w)ln\s+{_NUMBER}"  # ln 28
    rf"|(?<!\w)[εTαK]\s*=\s*{_NUMBER}"  # ε = 0.1
    rf"|(?<!\w)[Cc]lass\s+{_NUMBER}"  # class 0
    rf"|(?<![\w.\-]){_NUMBER}%?"  # 0.610, 20%, 3,000
)
SYMBOL = re.compile(r"^(ln|[εTαK]|[Cc]lass)\s*=?\s*(.+)$")


def mentions(text: str) -> Iterator[str]:
    """Every mention in `text` that holds a digit, its spaces collapsed (the claims table's keys)."""
    for match in MENTION.finditer(text):
        found = " ".join(match.group().split())
        if any(ch.isdigit() for ch in found):
            yield found


def _g(x: float) -> str:
    return format(float(x), "g")


def canonical(mention: str) -> str:
    """A mention in one spelling: "ε = 0.10" and "ε=0.1" alike; "[0.05, 0.9]" → "[0.05,0.9]"; "20%" → "20%"."""
    if mention.startswith("`"):
        return mention
    if mention.startswith("["):
        return "[" + ",".join(_g(float(x.replace(",", ""))) for x in mention[1:-1].split(",")) + "]"
    symbol = SYMBOL.match(mention)
    if symbol:
        name = "class" if symbol.group(1) == "Class" else symbol.group(1)
        return f"{name}={_g(float(symbol.group(2).replace(',', '')))}"
    percent = mention.endswith("%")
    number = _g(float(mention.rstrip("%").replace(",", "")))
    return number + ("%" if percent else "")


def stated(mention: str) -> tuple[float, int]:
    """The number a plain mention states and how many decimals it is given to: "0.610" → (0.61, 3)."""
    body = mention.rsplit("=", 1)[-1].split()[-1].rstrip("%").replace(",", "")
    decimals = len(body.split(".")[1]) if "." in body else 0
    return float(body), decimals


def entries(mention: str) -> list[str]:
    """A vector mention's entries as written: "[0.05, 0.90]" → ["0.05", "0.90"]."""
    return [x.strip() for x in mention.strip("[]").split(",")]


def numbers(mention: str) -> list[float]:
    """A vector mention's entries as numbers."""
    return [float(x) for x in entries(mention)]


def rounds_to(value: float, mention: str) -> None:
    """`value`, rounded as `mention` is written, is what `mention` states."""
    number, decimals = stated(mention)
    assert abs(value - number) <= 0.5 * 10.0**-decimals + 1e-12, f"{mention} stated, the engine gives {value:.6g}"


def inputs(step: Step) -> set[str]:
    """The mentions (canonical) a step's own settings hold: each setting's value as a plain number and with its
    symbol (ε, T, α; label noise also as a percentage), the scenario's config included; the calculator's vector
    and its K. What the engine adds on the pages that train is accepted with its symbol or name only: K, each
    run's ε (the one-hot run's 0 included) and the dataset's class names ("class 0")."""
    s = step.settings
    out: set[str] = set()

    def number(x: Any, symbol: str = "", plain: bool = True, percent: bool = False) -> None:
        if isinstance(x, bool) or not isinstance(x, int | float):
            return
        if plain:
            out.add(_g(x))
        if symbol:
            out.add(f"{symbol}={_g(x)}")
        if percent:
            out.add(f"{_g(100 * x)}%")

    for key, symbol in (("label", ""), ("speed", ""), ("steps", ""), ("temperature", "T"), ("alpha", "α")):
        number(s.get(key), symbol)
    if step.page == "calculator":
        probs = s.get("probs", [])
        out.add(canonical(str(probs)))
        for p in probs:
            number(p)
        number(s.get("eps"), "ε")
        number(len(probs), "K")
        return out
    number(K, "K", plain=False)
    config = run_config(step)
    default = RunConfig()
    changed = {f for f, v in SCENARIO[s["scenario"]].config.items() if v != getattr(default, f) or f == "eps"
               } if "scenario" in s else set()  # what the scenario changes, and its ε
    fields = changed | set(s.get("config", {})) | ({"eps"} if "eps" in s else set())
    for field in fields:
        number(getattr(config, field), "ε" if field == "eps" else "", percent=field == "label_noise")
    if step.page == "distill":
        eps_values = DistillSession(config, distill_settings(step)).eps_values
    else:
        eps_values = TrainingSession(config).eps_values
    for e in [*eps_values, *(s["eps"] if isinstance(s.get("eps"), list) else [])]:
        number(e, "ε", plain=False)
    names = make_dataset(config.dataset, points=config.points, seed=config.seed).class_names
    out.update(canonical(name) for name in names if name.startswith("class "))
    return out
