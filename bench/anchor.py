"""TF Playground, the anchor the explorer's page is measured against in the same browser (bench.browser --anchor)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.server import free_port, stop_process

from .common import rnd
from .instrument import VIEWPORT, busy_shares, cdp_metrics, read_number


@contextlib.contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """`python -m http.server` for a directory on a free 127.0.0.1 port; its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                             "--directory", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 15
        while True:
            try:
                opener.open(base + "/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the static server for {directory} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        stop_process(proc, timeout=5)


def measure_anchor(browser: Any, base: str, seconds: float, warmup: float) -> dict[str, Any]:
    """TF Playground: press #play-pause-button, count #iter-number's growth per second (one UI redraw each)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        # offline: its web fonts and analytics are refused at once rather than waited for
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                      else route.abort())
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(base + "/index.html", wait_until="load", timeout=30_000)
        page.locator("#play-pause-button").click()
        page.wait_for_timeout(warmup * 1000)
        read = "() => [performance.now(), document.querySelector('#iter-number').textContent]"
        m0 = cdp_metrics(cdp)
        t0, i0 = page.evaluate(read)
        page.wait_for_timeout(seconds * 1000)
        t1, i1 = page.evaluate(read)
        m1 = cdp_metrics(cdp)
    finally:
        context.close()
    span_s = (t1 - t0) / 1e3
    a, b = read_number(i0), read_number(i1)
    return {"redraws_per_s": rnd((b - a) / span_s, 2) if a is not None and b is not None else None,
            "iterations": [a, b], **busy_shares(m0, m1, span_s)}
