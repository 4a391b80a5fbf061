"""One explorer page on a slow link: how soon it is usable, frames drawn and received per second, and how long a
typed ε takes to show (issue 19: one attendee's share of a crowded room, or a phone at the back of it).

    python -m bench.browser --rate 330kbit [--seconds 10] [--json]     (runs this inside a namespace)
    python -m bench.slowlink [--seconds 10] [--json]                   (here, on whatever link this is)

Starts the server as in production and Debian's Chromium (bench/instrument.py installs the counters), opens
the explorer in a fresh context with the cache off, and measures:
- usable_ms: navigation start → the socket open and the first frame drawn on panel-smoothed;
- plotly_ms: when Plotly.js (0.5 MB) has arrived and run: the axes and charts come then;
- fps (frames drawn/s on panel-smoothed) and frames_received_per_s, over `seconds` of play once the page
  has loaded, and the status bar's own read-outs;
- eps_latency_ms: the ε box takes a new value (typed, Enter) → the status bar shows it (a frame with it has
  arrived and been read): each of `--probes` values, and their median.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from tests.support import netns

from .common import emit, load_note, loadavg, rnd
from .instrument import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PANEL,
    READ,
    VIEWPORT,
    instrumented_page,
    read_number,
    wait_first_paint,
    worker_draws,
)
from .server import Server

PROBE_TIMEOUT_S = 20.0

TYPE_EPS = """async (eps) => {
  const box = document.querySelector('[data-testid="eps-value"]');
  const shown = document.querySelector('[data-testid="status-eps"]');
  const want = Number(eps).toFixed(2);
  const t0 = performance.now();
  box.value = String(eps);
  box.dispatchEvent(new Event("change", {bubbles: true}));
  return await new Promise((resolve) => {
    const look = () => {
      if (shown.textContent.trim() === want) resolve(performance.now() - t0);
      else if (performance.now() - t0 > %TIMEOUT%) resolve(null);
      else requestAnimationFrame(look);
    };
    look();
  });
}""".replace("%TIMEOUT%", str(int(PROBE_TIMEOUT_S * 1000)))


def measure_page(browser: Any, url: str, seconds: float, probes: int) -> dict[str, Any]:
    """One visit on this link: usable, then playing: drawn and received per second, then ε probes."""
    context = browser.new_context(viewport=VIEWPORT)
    errors: list[str] = []
    try:
        page, _ = instrumented_page(context, errors)
        page.goto(url + "?play=0", wait_until="commit", timeout=60_000)
        first = wait_first_paint(page, timeout_s=60)
        opened = page.evaluate("window.__bench.wsOpen")
        page.wait_for_load_state("load", timeout=120_000)
        page.wait_for_function("() => window.Plotly && document.querySelector('#panel-smoothed')._fullLayout",
                               timeout=120_000)
        worker_draws(page, instrument=True)
        page.locator('[data-testid="play-toggle"]').click()
        page.wait_for_timeout(2_000)
        t0 = page.evaluate("performance.now()")
        page.wait_for_timeout(seconds * 1000)
        t1 = page.evaluate("performance.now()")
        bench = page.evaluate(READ)
        in_worker = worker_draws(page)
        latencies = [page.evaluate(TYPE_EPS, round(0.12 + 0.07 * k, 2)) for k in range(probes)]
        status_eps = page.locator('[data-testid="status-eps"]').text_content()
    finally:
        context.close()
    span_s = (t1 - t0) / 1e3
    draws = [d for d in bench["draws"] if t0 <= d[0] <= t1 and d[1] == PANEL]
    draws += [d for d in in_worker if t0 <= d[0] - bench["timeOrigin"] <= t1 and d[1] == PANEL]
    received = [w for w in bench["ws"] if t0 <= w[0] <= t1]
    shown = [x for x in latencies if x is not None]
    usable = max(first, opened) if first is not None and opened is not None else None
    return {
        "usable_ms": rnd(usable, 0), "first_frame_ms": rnd(first, 0), "socket_open_ms": rnd(opened, 0),
        "plotly_ms": rnd(bench["plotlyAt"], 0), "load_ms": rnd(bench["load"], 0),
        "fps": rnd(len(draws) / span_s, 2), "frames_received_per_s": rnd(len(received) / span_s, 2),
        "frame_kb_mean": rnd(sum(w[1] for w in received) / max(len(received), 1) / 1024, 2),
        "status_fps": read_number(bench["statusFps"]), "status_rx": read_number(bench["statusRx"]),
        "eps_latency_ms": [rnd(x, 0) for x in latencies],
        "eps_latency_ms_median": rnd(statistics.median(shown), 0) if shown else None,
        "eps_shown": len(shown), "eps_probes": probes, "status_eps": status_eps,
        "page_errors": (bench["errors"] + errors)[:10],
    }


def measure(seconds: float, probes: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    load_start = loadavg()
    with sync_playwright() as pw, Server() as server:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            result = measure_page(browser, server.http + "/", seconds, probes)
        finally:
            browser.close()
    link = netns.inside()
    out = {"benchmark": "browser-link", "rate": link["rate"] if link else None, "seconds": seconds, **result,
           "loadavg_start": load_start, "loadavg": loadavg()}
    median = out["eps_latency_ms_median"]
    out["targets"] = {
        "received_ge_8_per_s": out["frames_received_per_s"] >= 8,
        "drawn_gt_received": out["fps"] > out["frames_received_per_s"],
        "eps_shown_within_500ms": median is not None and median <= 500 and out["eps_shown"] == probes,
        "usable_within_8s": out["usable_ms"] is not None and out["usable_ms"] <= 8_000,
    }
    return out


def summary(r: dict[str, Any]) -> str:
    return "\n".join([
        f"bench.browser on {r['rate'] or 'this link'}; {load_note(r['loadavg'])}",
        f"usable (socket open, first frame drawn) {r['usable_ms']} ms; Plotly.js ran at {r['plotly_ms']} ms",
        f"frames drawn {r['fps']} /s, received {r['frames_received_per_s']} /s ({r['frame_kb_mean']} KB each); "
        f"status bar: {r['status_fps']} drawn, {r['status_rx']} received",
        f"typed ε shown after {r['eps_latency_ms']} ms (median {r['eps_latency_ms_median']}); "
        f"{r['eps_shown']} of {r['eps_probes']} shown",
        *(["page errors: " + " | ".join(r["page_errors"])] if r["page_errors"] else []),
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.slowlink", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="measurement window while playing (default 10)")
    p.add_argument("--probes", type=int, default=5, help="ε values typed, one after another (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    t0 = time.monotonic()
    result = measure(args.seconds, args.probes)
    result["wall_s"] = rnd(time.monotonic() - t0, 1)
    emit(result, args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
