"""Waiting on the explorer page from a browser test: poll a page function, sync or async, until it returns
something truthy. (Playwright's wait_for_function takes the Promise an async function returns for a
truthy value at once, so it cannot wait on `await el.plane.snapshot()`.)"""

from __future__ import annotations

import time
from typing import Any

WAIT_S = 15.0


def wait_for(page: Any, expression: str, arg: Any = None, timeout: float = WAIT_S, interval_ms: float = 40) -> Any:
    """Evaluate `expression` (a function, awaited when async) until it gives something truthy; return that.
    An AssertionError with the last value when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {expression.strip()[:120]}… (last: {value!r})")
        page.wait_for_timeout(interval_ms)


def wait_drawn(page: Any, step: int | None = None, plotly: bool = False, timeout: float = WAIT_S) -> None:
    """Both template planes have drawn a frame, exactly (no motion left): of `step` when given, over Plotly's
    axes when `plotly`."""
    wait_for(page, """async ([step, plotly]) => {
        for (const id of ['panel-baseline', 'panel-smoothed']) {
          const el = document.getElementById(id);
          if (!el || !el.plane || (plotly && !el._fullLayout)) return false;
          const s = await el.plane.snapshot();
          if (!s.draws || !s.settled || (step !== null && (s.drawnStep !== step || el.dataset.step !== String(step)))) {
            return false;
          }
        }
        return true; }""", [step, plotly], timeout)
