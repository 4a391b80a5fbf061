"""Helpers shared by the benchmarks: machine facts, load average, robust statistics, JSON output."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine is shared: say how busy it was)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "loadavg": loadavg(),
    }


def loaded(load: Sequence[float]) -> bool:
    """True when the 1-minute load average says other work competed for the CPUs."""
    return bool(load) and load[0] > 0.5 * (os.cpu_count() or 1)


def median(xs: Sequence[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def percentile(xs: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile q in [0, 100]; None for no data."""
    if not xs:
        return None
    s = sorted(xs)
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return float(s[lo] + (s[hi] - s[lo]) * (pos - lo))


def rnd(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def ratio(a: float | None, b: float | None, nd: int = 3) -> float | None:
    return None if a is None or not b else round(a / b, nd)


def emit(result: dict[str, Any], as_json: bool, summary: Callable[[dict[str, Any]], str]) -> None:
    """One JSON object on stdout with --json, else a readable summary."""
    if as_json:
        json.dump(result, sys.stdout, allow_nan=False, default=str)
        sys.stdout.write("\n")
    else:
        print(summary(result))
    sys.stdout.flush()


def load_note(load: Sequence[float]) -> str:
    n = os.cpu_count() or 1
    if not load:
        return ""
    tag = "LOADED machine" if loaded(load) else "quiet machine"
    return f"loadavg {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} on {n} CPUs ({tag})"
