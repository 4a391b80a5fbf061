"""Headless Chromium against the explorer (and TF Playground): frames drawn and received per second,
main-thread busy share, time to the first drawn frame, page bytes.

    python -m bench.browser [--json] [--anchor ../shared/anchors/tf-playground] [--seconds 6] [--warmup 2]
                            [--capped-fps 10] [--url http://127.0.0.1:PORT/]
    python -m bench.browser --rate 330kbit [--seconds 10] [--json]     one page on a slow link (bench/slowlink.py)

Debian's Chromium (/usr/bin/chromium) driven by Python playwright, software rendering (--disable-gpu),
against a server it starts as in production (unless --url), then against a second one started with
FPS_CAP=10 (the 40-attendee setting; --capped-fps 0 skips it). The page is instrumented before any of
its scripts run: every clearRect on a canvas in the page is counted by the nearest data-testid (the
template planes' point layers clear once per draw, static/js/explorer/layer.js), window.Plotly is
wrapped as it is defined (every react / animate / extendTraces … call counted and timed per chart), and
WebSocket messages are counted as they arrive. It relies on data-testid hooks only: play-toggle,
panel-smoothed, panel-baseline, status-fps, status-rx.

- fps: point-layer draws on panel-smoothed per second while playing the default display (2 × 300
  points), next to frames received per second (drawn_per_received) and the page's status-fps and
  status-rx read-outs; main_thread_busy_percent: the renderer's main-thread task time over the window
  (CDP Performance.getMetrics TaskDuration), with script and style + layout shares;
- first_frame_ms: from navigation start to the first draw of panel-smoothed's point layer, plus the
  animation frame that paints it, on the first visit to a fresh server (its worker cold);
  first_frame_repeat_ms: later first visits (fresh browser context, cache off);
- page_bytes: HTTP bytes as transferred (CDP Network.loadingFinished encodedDataLength, cache off),
  WebSocket frames excluded;
- with --anchor DIR: TF Playground served from DIR by `python -m http.server` on 127.0.0.1, started with
  #play-pause-button; its redraws per second are the growth of #iter-number (it redraws its UI on
  every iteration), measured before, between and after the explorer's runs in the same browser (the
  median is the anchor figure: a shared machine's load moves it); fps_ratio_vs_anchor = fps / that.
Targets (issue 11): fps_ratio_vs_anchor ≥ 1.0 (stretch 1.5); at FPS_CAP=10 ≥ 2.5 frames drawn per frame
received; first frame ≤ 1.5 s; ≤ 2 MB; main thread ≤ 60 % busy while playing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from pathlib import Path
from typing import Any

from tests.support import netns

from .anchor import measure_anchor, static_server
from .common import emit, load_note, loadavg, rnd
from .instrument import (
    BASELINE,
    CHROMIUM,
    CHROMIUM_ARGS,
    INSTRUMENT,
    PANEL,
    READ,
    VIEWPORT,
    busy_shares,
    cdp_metrics,
    instrumented_page,
    read_number,
    wait_first_paint,
    worker_draws,
)
from .server import CpuMeter, Server


def first_frame_only(browser: Any, url: str) -> dict[str, float | None]:
    """Another first visit in a fresh context (cache off), to the same server, now that it has served one."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.add_init_script(INSTRUMENT)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.goto(url, wait_until="commit", timeout=30_000)
        first = wait_first_paint(page)
        out: dict[str, float | None] = page.evaluate("""() => ({open: window.__bench.wsOpen,
            frame: window.__bench.ws.length ? window.__bench.ws[0][0] : null})""")
        return {**out, "first": first}
    finally:
        context.close()


def measure_explorer(browser: Any, url: str, seconds: float, warmup: float, wait_ui: float,
                     server_pid: int | None, repeats: int = 2) -> dict[str, Any]:
    """One visit: first frame and page bytes, then play and count draws, frames and main-thread time."""
    load_start = loadavg()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        console_errors: list[str] = []
        page, cdp = instrumented_page(context, console_errors)
        cdp.send("Performance.enable")
        urls: dict[str, str] = {}
        sizes: dict[str, int] = {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda e: sizes.__setitem__(e["requestId"], int(e.get("encodedDataLength", 0))))
        page.goto(url, wait_until="commit", timeout=30_000)
        first = wait_first_paint(page)  # the first frame comes without play (a new session sends it at once)
        page.wait_for_load_state("load", timeout=30_000)
        worker_draws(page, instrument=True)
        play_via = None
        toggle = page.locator('[data-testid="play-toggle"]')
        try:
            toggle.wait_for(state="visible", timeout=wait_ui * 1000)
            toggle.click()
            play_via = "play-toggle"
        except Exception:  # noqa: BLE001 - the page may not have its controls: play through its socket
            sent = page.evaluate("""() => { const s = (window.__bench.sockets || []).find(x => x.readyState === 1);
                if (!s) return false; s.send(JSON.stringify({type: "play"})); return true; }""")
            play_via = "socket" if sent else None
        page.wait_for_timeout(warmup * 1000)
        meter = CpuMeter(server_pid) if server_pid else None
        if meter:
            meter.start()
        m0 = cdp_metrics(cdp)
        t0 = page.evaluate("performance.now()")
        page.wait_for_timeout(seconds * 1000)
        t1 = page.evaluate("performance.now()")
        m1 = cdp_metrics(cdp)
        server_cpu = meter.stop() if meter else {}
        bench = page.evaluate(READ)
        in_worker = worker_draws(page)
    finally:
        context.close()
    repeat = [first_frame_only(browser, url) for _ in range(repeats)]
    span_s = (t1 - t0) / 1e3
    in_window = [c for c in bench["calls"] if t0 <= c[0] <= t1]
    per_chart: dict[str, float] = {}
    busy_ms: dict[str, float] = {}
    for _, name, key, dur in in_window:
        label = f"{key}:{name}"
        per_chart[label] = per_chart.get(label, 0) + 1 / span_s
        busy_ms[key] = busy_ms.get(key, 0.0) + dur
    draws = [d for d in bench["draws"] if t0 <= d[0] <= t1]
    draws += [[t - bench["timeOrigin"], key] for t, key in in_worker if t0 <= t - bench["timeOrigin"] <= t1]
    panel_draws = sum(1 for d in draws if d[1] == PANEL)
    baseline_draws = sum(1 for d in draws if d[1] == BASELINE)
    ws_in = [w for w in bench["ws"] if t0 <= w[0] <= t1]
    fps = panel_draws / span_s
    received = len(ws_in) / span_s
    resources = sorted(((urls.get(rid, "?"), n) for rid, n in sizes.items()), key=lambda x: -x[1])
    return {
        "painter": (bench["painter"] or {}).get("kind"),
        "play_via": play_via,
        "panel_found": bench["hasPanel"],
        "fps": rnd(fps, 2),
        "fps_baseline_panel": rnd(baseline_draws / span_s, 2),
        "frames_received_per_s": rnd(received, 2),
        "drawn_per_received": rnd(fps / received, 2) if received else None,
        "status_fps": read_number(bench["statusFps"]),
        "status_fps_text": bench["statusFps"],
        "status_rx": read_number(bench["statusRx"]),
        **busy_shares(m0, m1, span_s),
        "plotly_calls_per_s": {k: rnd(v, 2) for k, v in sorted(per_chart.items())},
        "plotly_ms_per_s": {k: rnd(v / span_s, 1) for k, v in sorted(busy_ms.items())},
        "first_frame_ms": rnd(first, 1),
        # later first visits to the same server (fresh browser context, cache off): its worker(s) now warm,
        # unless the visit lands on a worker that has not served anyone yet
        "first_frame_repeat_ms": [rnd(r["first"], 1) for r in repeat],
        "first_ws_frame_repeat_ms": [rnd(r["frame"], 1) for r in repeat],
        "socket_open_ms": rnd(bench["wsOpen"], 1),
        "first_ws_frame_ms": rnd(bench["ws"][0][0] if bench["ws"] else None, 1),
        "plotly_defined_ms": rnd(bench["plotlyAt"], 1),
        "dom_content_loaded_ms": rnd(bench["dcl"], 1),
        "load_ms": rnd(bench["load"], 1),
        "frame_kb_mean": rnd(sum(w[1] for w in ws_in) / max(len(ws_in), 1) / 1024, 2),
        "page_bytes": sum(sizes.values()),
        "page_requests": len(sizes),
        "largest_resources": [[u.split("/", 3)[-1], n] for u, n in resources[:6]],
        "wrap_mode": bench["wrapMode"],
        "page_errors": (bench["errors"] + console_errors)[:10],
        **server_cpu,
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
    }


def measure(url: str | None, seconds: float, warmup: float, wait_ui: float, anchor: Path | None,
            capped_fps: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    load_start = loadavg()
    t_start = time.monotonic()
    with sync_playwright() as pw, contextlib.ExitStack() as stack:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)
        anchor_base = stack.enter_context(static_server(anchor)) if anchor else None
        anchors = []
        if anchor_base:
            anchors.append(measure_anchor(browser, anchor_base, seconds, warmup))
        if url:
            result = measure_explorer(browser, url, seconds, warmup, wait_ui, None)
        else:
            with Server() as server:
                result = measure_explorer(browser, server.http + "/", seconds, warmup, wait_ui,
                                          server.proc.pid if server.proc else None)
        if anchor_base:
            anchors.append(measure_anchor(browser, anchor_base, seconds, warmup))
        capped: dict[str, Any] | None = None
        if capped_fps and not url:
            with Server(env={"FPS_CAP": str(capped_fps)}) as server:
                capped = measure_explorer(browser, server.http + "/", seconds, warmup, wait_ui,
                                          server.proc.pid if server.proc else None, repeats=0)
        if anchor_base:
            anchors.append(measure_anchor(browser, anchor_base, seconds, warmup))
    rates = [a["redraws_per_s"] for a in anchors if a["redraws_per_s"]]
    anchor_fps = statistics.median(rates) if rates else None
    out: dict[str, Any] = {"benchmark": "browser", "browser": CHROMIUM, "seconds": seconds, "viewport": VIEWPORT,
                           **result}
    if anchor:
        out["anchor"] = {"page": "TF Playground", "dir": str(anchor), "redraws_per_s": rnd(anchor_fps, 2),
                         "runs": anchors}
        out["fps_ratio_vs_anchor"] = rnd(result["fps"] / anchor_fps, 3) if anchor_fps else None
    if capped is not None:
        keep = ("fps", "fps_baseline_panel", "frames_received_per_s", "drawn_per_received", "status_fps", "status_rx",
                "main_thread_busy_percent", "script_percent", "style_layout_percent", "first_frame_ms",
                "page_errors", "server_cpu_percent")
        out[f"fps_cap_{capped_fps}"] = {"fps_cap": capped_fps, **{k: capped.get(k) for k in keep}}
        if anchor_fps:
            out[f"fps_cap_{capped_fps}"]["fps_ratio_vs_anchor"] = rnd(capped["fps"] / anchor_fps, 3)
    out["loadavg_start"] = load_start
    out["loadavg"] = loadavg()
    out["wall_s"] = rnd(time.monotonic() - t_start, 1)
    c = out.get(f"fps_cap_{capped_fps}") or {}
    first = out["first_frame_ms"]
    ratio = out.get("fps_ratio_vs_anchor")
    out["targets"] = {
        "fps_ratio_ge_1": None if ratio is None else ratio >= 1.0,
        "fps_ratio_ge_1_5_stretch": None if ratio is None else ratio >= 1.5,
        "capped_drawn_per_received_ge_2_5": None if c.get("drawn_per_received") is None
        else c["drawn_per_received"] >= 2.5,
        "first_frame_le_1500ms": first is not None and first <= 1500,
        "page_le_2MB": out["page_bytes"] <= 2_000_000,
        "main_thread_le_60_percent": out["main_thread_busy_percent"] is not None
        and out["main_thread_busy_percent"] <= 60,
    }
    return out


def summary(r: dict[str, Any]) -> str:
    lines = [
        f"bench.browser ({r['browser']}, software rendering, {r['viewport']['width']}×{r['viewport']['height']}), "
        f"{r['seconds']} s playing (via {r['play_via']}); {load_note(r['loadavg'])}",
        f"frames drawn on {PANEL}: {r['fps']} /s ({BASELINE} {r['fps_baseline_panel']} /s); received "
        f"{r['frames_received_per_s']} /s ({r['drawn_per_received']} drawn per received); status bar says "
        f"{r['status_fps_text']!r} drawn, {r['status_rx']} received",
    ]
    if "anchor" in r:
        lines.append(f"TF Playground: {r['anchor']['redraws_per_s']} redraws/s; explorer / TF Playground = "
                     f"{r['fps_ratio_vs_anchor']} (target ≥ 1.0, stretch 1.5)")
    for key, c in r.items():
        if key.startswith("fps_cap_") and isinstance(c, dict):
            lines.append(f"FPS_CAP={c['fps_cap']}: drawn {c['fps']} /s, received {c['frames_received_per_s']} /s, "
                         f"{c['drawn_per_received']} drawn per received (target ≥ 2.5), main thread "
                         f"{c['main_thread_busy_percent']}%")
    lines += [
        f"main thread busy {r['main_thread_busy_percent']}% (script {r['script_percent']}%, style + layout "
        f"{r['style_layout_percent']}%; target ≤ 60%)",
        f"first frame drawn {r['first_frame_ms']} ms after navigation (target ≤ 1500; socket open "
        f"{r['socket_open_ms']} ms, first frame received {r['first_ws_frame_ms']} ms, Plotly defined at "
        f"{r['plotly_defined_ms']} ms); later first visits {r['first_frame_repeat_ms']} ms",
        f"page {r['page_bytes']:,} bytes in {r['page_requests']} requests (target ≤ 2 MB); largest: "
        + ", ".join(f"{u} {n:,}" for u, n in r["largest_resources"][:3]),
    ]
    if r["page_errors"]:
        lines.append("page errors: " + " | ".join(r["page_errors"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n")[0])
    p.add_argument("--url", help="the page of a running server on 127.0.0.1 (default: start one; no capped run)")
    p.add_argument("--anchor", type=Path, help="a TF Playground build to measure in the same browser")
    p.add_argument("--capped-fps", type=int, default=10, help="FPS_CAP of the second server (default 10; 0: none)")
    p.add_argument("--seconds", type=float, default=6.0, help="measurement window while playing (default 6)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of play before measuring (default 2)")
    p.add_argument("--wait-ui", type=float, default=10.0, help="seconds to wait for the play-toggle (default 10)")
    p.add_argument("--rate", help="one page on a loopback held to this rate, e.g. 330kbit (bench/slowlink.py)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.rate:
        inner = ["--seconds", str(args.seconds), *(["--json"] if args.json else [])]
        try:
            return netns.run_inside(args.rate, "bench.slowlink", inner)
        except netns.RateError as err:
            p.exit(2, f"python -m bench.browser: error: {err}\n")
    if not os.path.exists(CHROMIUM):
        p.exit(2, f"python -m bench.browser: error: no Chromium at {CHROMIUM} (`make test` installs it)\n")
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        p.exit(2, "python -m bench.browser: error: --url must point at 127.0.0.1\n")
    if args.anchor and not (args.anchor / "index.html").is_file():
        p.exit(2, f"python -m bench.browser: error: no index.html in {args.anchor}\n")
    result = measure(args.url, args.seconds, args.warmup, args.wait_ui, args.anchor, args.capped_fps)
    emit(result, args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
