"""Waiting on the explorer page from a browser test: poll a page function, sync or async, until it returns
something truthy. (Playwright's wait_for_function takes the Promise an async function returns for a
truthy value at once, so it cannot wait on `await el.plane.snapshot()`.)"""

from __future__ import annotations

import re
import time
from typing import Any

from app.protocol.frames import FrameDecoder

WAIT_S = 15.0
SOCKET = re.compile(r"/ws(\?.*)?$")  # the pages' socket, /ws?browser=ID, for page.route_web_socket


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


def text_is(page: Any, testid: str, expected: str) -> None:
    """Wait until the element's trimmed text is `expected` (it may be rebuilt, or the page navigate, meanwhile)."""
    page.wait_for_function("([id, t]) => document.querySelector(`[data-testid=${id}]`)?.textContent.trim() === t",
                           arg=[testid, expected])


def text_has(page: Any, testid: str, part: str) -> None:
    """Wait until the element's text contains `part`."""
    page.wait_for_function(
        "([id, t]) => (document.querySelector(`[data-testid=${id}]`)?.textContent || '').includes(t)",
        arg=[testid, part])


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


class FrameLog:
    """Every binary frame the page receives, decoded in order per socket as the page decodes it (the server's
    FrameDecoder, app/protocol/frames.py: header fields, and per run its points and templates as float arrays)."""

    def __init__(self, page: Any) -> None:
        self.frames: list[dict[str, Any]] = []
        page.on("websocket", self._watch)

    def _watch(self, ws: Any) -> None:
        decoder = FrameDecoder()  # one stream per socket
        ws.on("framereceived", lambda payload: self._add(decoder, payload))

    def _add(self, decoder: FrameDecoder, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.frames.append(decoder.decode(payload))

    def last(self) -> dict[str, Any]:
        return self.frames[-1]

    def at(self, step: int) -> dict[str, Any]:
        """The last frame received of `step`."""
        matching = [f for f in self.frames if f["step"] == step]
        assert matching, f"no frame of step {step} received (steps {[f['step'] for f in self.frames]})"
        return matching[-1]
