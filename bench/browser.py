"""Headless Chromium against the explorer: frames drawn per second, time to the first drawn frame, page bytes.

    python -m bench.browser [--json] [--url http://127.0.0.1:PORT/] [--seconds 6] [--warmup 2]

Debian's Chromium (/usr/bin/chromium) driven by Python playwright, software rendering (--disable-gpu),
against a server it starts as in production (unless --url). The page is instrumented before any of its
scripts run: window.Plotly is wrapped as it is defined, so every Plotly.react / animate / newPlot /
extendTraces … call is counted per chart (by the nearest data-testid), and WebSocket messages are
counted as they arrive. It relies only on data-testid hooks: play-toggle, panel-smoothed, status-fps.

- fps: Plotly calls on the panel-smoothed chart per second while playing (each call draws the newest
  frame there), next to frames received per second and the page's own status-fps figure;
- first_frame_ms: from navigation start to the first Plotly call that puts points on panel-smoothed,
  plus the animation frame that paints it, on the first visit to a fresh server (its worker cold);
  first_frame_repeat_ms: the same for later first visits (fresh browser context, cache off);
- page_bytes: HTTP bytes as transferred (CDP Network.loadingFinished encodedDataLength, cache off),
  WebSocket frames excluded.
Targets (issue 6): ≥ 20 fps (stretch 30) for the default display, first frame ≤ 1.5 s, ≤ 2 MB.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from .common import emit, load_note, loadavg, rnd
from .server import CpuMeter, Server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PANEL = "panel-smoothed"

INSTRUMENT = r"""
(() => {
  const B = window.__bench = {calls: [], firstDraw: null, firstPaint: null, plotlyAt: null, wrapMode: null,
                              ws: [], wsText: 0, wsOpen: null, sockets: [], rafCalls: 0, errors: []};
  const rafOrig = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => rafOrig((ts) => { B.rafCalls++; cb(ts); });
  const OrigWS = window.WebSocket;
  class BenchWS extends OrigWS {
    constructor(...args) {
      super(...args);
      B.sockets.push(this);
      this.addEventListener("open", () => { if (B.wsOpen === null) B.wsOpen = performance.now(); });
      this.addEventListener("message", (ev) => {
        if (typeof ev.data === "string") B.wsText++;
        else B.ws.push([performance.now(), ev.data.byteLength || ev.data.size || 0]);
      });
    }
  }
  window.WebSocket = BenchWS;
  const NAMES = ["newPlot", "react", "animate", "restyle", "relayout", "update", "extendTraces",
                 "prependTraces", "redraw", "addTraces", "deleteTraces", "purge"];
  const keyOf = (el) => {
    if (!el || !el.closest) return "?";
    const owner = el.closest("[data-testid]");
    return owner ? owner.getAttribute("data-testid") : (el.id || "?");
  };
  const hasPoints = (el) => !!(el && el.data && el.data.some((t) => t && t.x && t.x.length > 0));
  const argPoints = (a, depth) => {  // points in the call itself: data arrays, animation frames, restyles
    if (!a || typeof a !== "object" || depth > 3) return false;
    if (Array.isArray(a)) return a.some((x) => argPoints(x, depth + 1));
    if (a.x && a.x.length > 0 && (typeof a.x[0] === "number" || Array.isArray(a.x[0]) || ArrayBuffer.isView(a.x[0])
        || ArrayBuffer.isView(a.x))) return true;
    return argPoints(a.data, depth + 1);
  };
  const record = (name, gd, t0, arg) => {
    const el = typeof gd === "string" ? document.getElementById(gd) : gd;
    const key = keyOf(el);
    const t1 = performance.now();
    B.calls.push([t0, name, key, t1 - t0]);
    if (B.firstDraw === null && key === "%PANEL%" && (argPoints(arg, 0) || hasPoints(el))) {
      B.firstDraw = t1;
      rafOrig(() => { B.firstPaint = performance.now(); });
    }
  };
  const wrapFn = (orig, name) => function (gd, ...rest) {
    const t0 = performance.now();
    try { return orig.call(this, gd, ...rest); }
    finally { try { record(name, gd, t0, rest[0]); } catch (e) { B.errors.push(String(e)); } }
  };
  const wrap = (pl) => {
    if (!pl || typeof pl !== "object" && typeof pl !== "function") return pl;
    B.plotlyAt = performance.now();
    let ok = true;
    for (const name of NAMES) {
      if (typeof pl[name] !== "function") continue;
      const w = wrapFn(pl[name], name);
      try { pl[name] = w; } catch (e) { /* read-only */ }
      if (pl[name] !== w) ok = false;
    }
    if (ok) { B.wrapMode = "assign"; return pl; }
    B.wrapMode = "proxy";
    const cache = {};
    return new Proxy(pl, {get(t, k, r) {
      const v = Reflect.get(t, k, r);
      if (typeof v === "function" && NAMES.includes(k)) return cache[k] || (cache[k] = wrapFn(v, k));
      return v;
    }});
  };
  let P;
  Object.defineProperty(window, "Plotly", {configurable: true, enumerable: true,
    get() { return P; }, set(v) { P = wrap(v); }});
  window.addEventListener("error", (ev) => B.errors.push(String(ev.message)));
})();
""".replace("%PANEL%", PANEL)


def first_frame_only(browser: Any, url: str) -> dict[str, float | None]:
    """Another first visit in a fresh context (cache off), to the same server, now that it has served one."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.add_init_script(INSTRUMENT)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.goto(url, wait_until="commit", timeout=30_000)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if page.evaluate("window.__bench && window.__bench.firstPaint !== null"):
                break
            page.wait_for_timeout(25)
        out: dict[str, float | None] = page.evaluate("""() => ({first: window.__bench.firstPaint,
            open: window.__bench.wsOpen, frame: window.__bench.ws.length ? window.__bench.ws[0][0] : null})""")
        return out
    finally:
        context.close()


def measure(url: str | None, seconds: float, warmup: float, wait_ui: float, server_pid: int | None,
            repeats: int = 2) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    load_start = loadavg()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=False)
            page = context.new_page()
            console_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text[:200]) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)[:200]))
            page.add_init_script(INSTRUMENT)
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cdp.send("Performance.enable")
            urls: dict[str, str] = {}
            sizes: dict[str, int] = {}
            cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
            cdp.on("Network.loadingFinished",
                   lambda e: sizes.__setitem__(e["requestId"], int(e.get("encodedDataLength", 0))))
            t_nav = time.monotonic()
            page.goto(url or "/", wait_until="commit", timeout=30_000)
            # the first frame arrives without play (a new session's first state is sent at once)
            first_deadline = time.monotonic() + 15
            while time.monotonic() < first_deadline:
                if page.evaluate("window.__bench && window.__bench.firstPaint !== null"):
                    break
                page.wait_for_timeout(25)
            page.wait_for_load_state("load", timeout=30_000)
            play_via = None
            toggle = page.locator('[data-testid="play-toggle"]')
            try:
                toggle.wait_for(state="visible", timeout=wait_ui * 1000)
                page.wait_for_function("() => !document.querySelector('[data-testid=\"play-toggle\"]').disabled",
                                       timeout=wait_ui * 1000)
                toggle.click()
                play_via = "play-toggle"
            except Exception:  # noqa: BLE001 - the page may not have its controls yet: play through its socket
                sent = page.evaluate("""() => { const s = (window.__bench.sockets || []).find(x => x.readyState === 1);
                    if (!s) return false; s.send(JSON.stringify({type: "play"})); return true; }""")
                play_via = "socket" if sent else None
            page.wait_for_timeout(warmup * 1000)
            meter = CpuMeter(server_pid) if server_pid else None
            if meter:
                meter.start()
            m0 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            t0 = page.evaluate("performance.now()")
            page.wait_for_timeout(seconds * 1000)
            t1 = page.evaluate("performance.now()")
            m1 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            server_cpu = meter.stop() if meter else {}
            bench = page.evaluate("""() => { const B = window.__bench;
                const nav = performance.getEntriesByType('navigation')[0];
                const fps = document.querySelector('[data-testid="status-fps"]');
                return {calls: B.calls, firstDraw: B.firstDraw, wsOpen: B.wsOpen, firstPaint: B.firstPaint,
                        plotlyAt: B.plotlyAt,
                        wrapMode: B.wrapMode, ws: B.ws, wsText: B.wsText, rafCalls: B.rafCalls, errors: B.errors,
                        dcl: nav ? nav.domContentLoadedEventEnd : null, load: nav ? nav.loadEventEnd : null,
                        statusFps: fps ? fps.textContent : null,
                        hasPanel: !!document.querySelector('[data-testid="%PANEL%"]')}; }"""
                                  .replace("%PANEL%", PANEL))
            wall_nav = (time.monotonic() - t_nav) * 1e3
            context.close()
            repeat = [first_frame_only(browser, url or "/") for _ in range(repeats)]
        finally:
            browser.close()
    span_s = (t1 - t0) / 1e3
    in_window = [c for c in bench["calls"] if t0 <= c[0] <= t1]
    per_chart: dict[str, float] = {}
    busy_ms: dict[str, float] = {}
    for _, name, key, dur in in_window:
        label = f"{key}:{name}"
        per_chart[label] = per_chart.get(label, 0) + 1 / span_s
        busy_ms[key] = busy_ms.get(key, 0.0) + dur
    panel_draws = sum(1 for c in in_window if c[2] == PANEL)
    baseline_draws = sum(1 for c in in_window if c[2] == "panel-baseline")
    ws_in = [w for w in bench["ws"] if t0 <= w[0] <= t1]
    resources = sorted(((urls.get(rid, "?"), n) for rid, n in sizes.items()), key=lambda x: -x[1])
    task = m1.get("TaskDuration", 0) - m0.get("TaskDuration", 0)
    script = m1.get("ScriptDuration", 0) - m0.get("ScriptDuration", 0)
    layout = m1.get("LayoutDuration", 0) - m0.get("LayoutDuration", 0) + \
        m1.get("RecalcStyleDuration", 0) - m0.get("RecalcStyleDuration", 0)
    status_fps = None
    if bench["statusFps"]:
        digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in bench["statusFps"]).split()
        status_fps = float(digits[0]) if digits else None
    first = bench["firstPaint"]
    result: dict[str, Any] = {
        "benchmark": "browser",
        "browser": CHROMIUM,
        "seconds": seconds,
        "play_via": play_via,
        "panel_found": bench["hasPanel"],
        "fps": rnd(panel_draws / span_s, 2),
        "fps_baseline_panel": rnd(baseline_draws / span_s, 2),
        "frames_received_per_s": rnd(len(ws_in) / span_s, 2),
        "status_fps": status_fps,
        "status_fps_text": bench["statusFps"],
        "plotly_calls_per_s": {k: rnd(v, 2) for k, v in sorted(per_chart.items())},
        "plotly_ms_per_s": {k: rnd(v / span_s, 1) for k, v in sorted(busy_ms.items())},
        "main_thread_busy_percent": rnd(task / span_s * 100, 1),
        "script_percent": rnd(script / span_s * 100, 1),
        "style_layout_percent": rnd(layout / span_s * 100, 1),
        "first_frame_ms": rnd(first, 1),
        # later first visits to the same server (fresh browser context, cache off): its worker(s) now warm,
        # unless the visit lands on a worker that has not served anyone yet
        "first_frame_repeat_ms": [rnd(r["first"], 1) for r in repeat],
        "first_ws_frame_repeat_ms": [rnd(r["frame"], 1) for r in repeat],
        "first_plotly_call_ms": rnd(bench["firstDraw"], 1),
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
        "wall_ms": rnd(wall_nav, 0),
        **server_cpu,
        "loadavg_start": load_start,
        "loadavg": loadavg(),
    }
    result["targets"] = {
        "fps_ge_20": result["fps"] >= 20,
        "fps_ge_30_stretch": result["fps"] >= 30,
        "first_frame_le_1500ms": first is not None and first <= 1500,
        "page_le_2MB": result["page_bytes"] <= 2_000_000,
    }
    return result


def summary(r: dict[str, Any]) -> str:
    lines = [
        f"bench.browser ({r['browser']}, software rendering), {r['seconds']} s playing (via {r['play_via']}); "
        f"{load_note(r['loadavg'])}",
        f"frames drawn on {PANEL}: {r['fps']} /s (target ≥ 20, stretch 30; panel-baseline "
        f"{r['fps_baseline_panel']} /s); "
        f"received {r['frames_received_per_s']} /s; "
        f"status-fps says {r['status_fps_text']!r}",
        f"first frame drawn {r['first_frame_ms']} ms after navigation (target ≤ 1500; Plotly defined at "
        f"{r['plotly_defined_ms']} ms, DOMContentLoaded {r['dom_content_loaded_ms']} ms, socket open "
        f"{r['socket_open_ms']} ms, first frame received {r['first_ws_frame_ms']} ms); later first visits "
        f"{r['first_frame_repeat_ms']} ms",
        f"page {r['page_bytes']:,} bytes in {r['page_requests']} requests (target ≤ 2 MB); largest: "
        + ", ".join(f"{u} {n:,}" for u, n in r["largest_resources"][:3]),
        f"main thread busy {r['main_thread_busy_percent']}% (script {r['script_percent']}%)",
    ]
    if r["page_errors"]:
        lines.append("page errors: " + " | ".join(r["page_errors"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n")[0])
    p.add_argument("--url", help="the page of a running server on 127.0.0.1 (default: start one)")
    p.add_argument("--seconds", type=float, default=6.0, help="measurement window while playing (default 6)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of play before measuring (default 2)")
    p.add_argument("--wait-ui", type=float, default=10.0, help="seconds to wait for the play-toggle (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        p.exit(2, f"python -m bench.browser: error: no Chromium at {CHROMIUM} (`make test` installs it)\n")
    if args.url:
        if not args.url.startswith(("http://127.0.0.1", "http://localhost")):
            p.exit(2, "python -m bench.browser: error: --url must point at 127.0.0.1\n")
        result = measure(args.url, args.seconds, args.warmup, args.wait_ui, None)
    else:
        with Server() as server:
            result = measure(server.http + "/", args.seconds, args.warmup, args.wait_ui,
                             server.proc.pid if server.proc else None)
    emit(result, args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
